using EmbeddingDistillation.Primitives;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Evaluation;

/// <summary>
/// Retrieval metrics of embeddings under the paper's protocol: every item queries all the others (self-match
/// excluded), ranked by Euclidean distance with ties to the lower index (<see cref="NearestNeighbours"/>).
/// </summary>
/// <remarks>
/// Definitions (R = the number of other gallery items sharing the query's label):
/// Recall@K = fraction of queries with at least one same-label item among their K nearest neighbours
/// (a query with R = 0 counts as a miss). A K larger than the gallery (N - 1 in self mode) is clipped to it,
/// so it means "among all other items"; the result dictionary keeps the requested K as key.
/// R-Precision = mean over queries with R &gt; 0 of (same-label items among the R nearest) / R.
/// MAP@R = mean over queries with R &gt; 0 of AP@R = (1/R) sum_{i=1..R} P(i) rel(i), with P(i) the precision at
/// rank i and rel(i) = 1 when the i-th neighbour shares the label. Queries with R = 0 are excluded from MAP@R and
/// R-Precision (they have nothing to retrieve); if no query has R &gt; 0 these metrics throw.
/// Labels are compared as given (an unlabelled -1 is just another label: pass labelled samples only).
/// Any device, float32 or float64; the metrics are accumulated in float64.
/// </remarks>
public static class RetrievalMetrics
{
    /// <summary>Recall@K for each K in <paramref name="ks"/> (self-match excluded, Euclidean distance).</summary>
    /// <param name="embeddings">[N, D] float32 or float64, N &gt;= 2.</param>
    /// <param name="labels">[N] integer class labels.</param>
    /// <param name="ks">Cut-offs, each &gt;= 1 (e.g. <see cref="RecallPresets.CubCars"/>).</param>
    public static IReadOnlyDictionary<int, double> RecallAtK(Tensor embeddings, Tensor labels, params int[] ks) =>
        Compute(embeddings, labels, null, null, ks, withR: false, null, default).RecallAtK;

    /// <summary>Recall@K for each K of a preset list, e.g. <c>RecallAtK(x, labels, RecallPresets.Sop)</c>.</summary>
    /// <param name="embeddings">[N, D] float32 or float64, N &gt;= 2.</param>
    /// <param name="labels">[N] integer class labels.</param>
    /// <param name="ks">Cut-offs, each &gt;= 1.</param>
    public static IReadOnlyDictionary<int, double> RecallAtK(Tensor embeddings, Tensor labels, IReadOnlyList<int> ks) =>
        Compute(embeddings, labels, null, null, ks, withR: false, null, default).RecallAtK;

    /// <summary>MAP@R of Musgrave et al., "A Metric Learning Reality Check" (self-match excluded, Euclidean distance).</summary>
    /// <param name="embeddings">[N, D] float32 or float64, N &gt;= 2.</param>
    /// <param name="labels">[N] integer class labels.</param>
    public static double MapAtR(Tensor embeddings, Tensor labels) =>
        Compute(embeddings, labels, null, null, [], withR: true, null, default).MapAtR;

    /// <summary>R-Precision (self-match excluded, Euclidean distance).</summary>
    /// <param name="embeddings">[N, D] float32 or float64, N &gt;= 2.</param>
    /// <param name="labels">[N] integer class labels.</param>
    public static double RPrecision(Tensor embeddings, Tensor labels) =>
        Compute(embeddings, labels, null, null, [], withR: true, null, default).RPrecision;

    /// <summary>
    /// Recall@K, MAP@R and R-Precision from one kNN pass with k = max(max K, max R) clipped to N - 1.
    /// </summary>
    /// <param name="embeddings">[N, D] float32 or float64, N &gt;= 2.</param>
    /// <param name="labels">[N] integer class labels.</param>
    /// <param name="ks">Recall cut-offs, each &gt;= 1; may be empty.</param>
    /// <param name="options">kNN options (metric, memory budget); null for the defaults (Euclidean, 512 MiB).</param>
    /// <param name="cancellationToken">Checked between query chunks.</param>
    public static RetrievalResult Evaluate(Tensor embeddings, Tensor labels, IReadOnlyList<int> ks,
        KnnOptions? options = null, CancellationToken cancellationToken = default) =>
        Compute(embeddings, labels, null, null, ks, withR: true, options, cancellationToken);

    /// <summary>
    /// Recall@K, MAP@R and R-Precision of separate queries against a gallery (nothing excluded; R counts gallery
    /// items with the query's label; K is clipped to the gallery size).
    /// </summary>
    /// <param name="queries">[Q, D] float32 or float64.</param>
    /// <param name="queryLabels">[Q] integer labels.</param>
    /// <param name="gallery">[G, D], same dtype and device as the queries.</param>
    /// <param name="galleryLabels">[G] integer labels.</param>
    /// <param name="ks">Recall cut-offs, each &gt;= 1; may be empty.</param>
    /// <param name="options">kNN options; null for the defaults.</param>
    /// <param name="cancellationToken">Checked between query chunks.</param>
    public static RetrievalResult Evaluate(Tensor queries, Tensor queryLabels, Tensor gallery, Tensor galleryLabels,
        IReadOnlyList<int> ks, KnnOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(gallery);
        ArgumentNullException.ThrowIfNull(galleryLabels);
        return Compute(queries, queryLabels, gallery, galleryLabels, ks, withR: true, options, cancellationToken);
    }

    private static RetrievalResult Compute(Tensor queries, Tensor queryLabels, Tensor? gallery, Tensor? galleryLabels,
        IReadOnlyList<int> ks, bool withR, KnnOptions? options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ks);
        var self = gallery is null;
        var qName = self ? "embeddings" : "queries";
        TensorChecks.Embeddings(queries, qName, "RetrievalMetrics", self ? 2 : 1, allowHalf: false, finite: true);
        if (!self) TensorChecks.Embeddings(gallery!, "gallery", "RetrievalMetrics", 1, allowHalf: false, finite: true);
        var ql = LabelArray(TensorChecks.Labels(queryLabels, queries, "RetrievalMetrics", self ? "labels" : "queryLabels", qName));
        var gl = self ? ql : LabelArray(TensorChecks.Labels(galleryLabels!, gallery!, "RetrievalMetrics", "galleryLabels", "gallery"));
        if (!withR && ks.Count == 0)
            throw new ArgumentException("At least one Recall@K cut-off is required.", nameof(ks));
        foreach (var kk in ks)
            if (kk < 1) throw new ArgumentOutOfRangeException(nameof(ks), kk, "Recall@K cut-offs must be >= 1.");

        var galleryCount = gl.Length;
        var maxNeighbours = self ? galleryCount - 1 : galleryCount;

        // R per query: gallery items with the query's label, minus the query itself in self mode.
        var perLabel = new Dictionary<long, int>();
        foreach (var label in gl) perLabel[label] = perLabel.GetValueOrDefault(label) + 1;
        var r = new long[ql.Length];
        var withRelevant = 0;
        for (var i = 0; i < ql.Length; i++)
        {
            r[i] = perLabel.GetValueOrDefault(ql[i]) - (self ? 1 : 0);
            if (r[i] > 0) withRelevant++;
        }
        if (withR && withRelevant == 0)
            throw new ArgumentException(
                $"MAP@R and R-Precision are undefined: no query in {qName} {TensorChecks.Shape(queries)} has another item with its label.",
                self ? "labels" : "galleryLabels");

        var k = ks.Count == 0 ? 0 : ks.Max();
        if (withR) k = (int)Math.Max(k, r.Max());
        k = (int)Math.Min(k, maxNeighbours);

        var hits = new double[ks.Count];
        double apSum = 0, rpSum = 0;
        using (var scope = NewDisposeScope())
        {
            var device = queries.device;
            var qLabels = tensor(ql, device: device);
            var gLabels = self ? qLabels : tensor(gl, device: device);
            var rAll = tensor(r, device: device);
            var ranks = arange(1, k + 1, dtype: ScalarType.Float64, device: device); // 1..k
            var positions = arange(0, k, dtype: ScalarType.Int64, device: device);   // 0..k-1

            NearestNeighbours.ForEachChunk(queries, gallery, k, options ?? KnnOptions.Default, cancellationToken, (start, idx, _) =>
            {
                var c = idx.shape[0];
                var neighbourLabels = gLabels.index_select(0, idx.flatten()).view(c, k);
                var relevant = neighbourLabels.eq(qLabels.narrow(0, start, c).unsqueeze(1)); // [c, k] bool
                for (var j = 0; j < ks.Count; j++)
                {
                    var cut = Math.Min(ks[j], k);
                    hits[j] += relevant.narrow(1, 0, cut).any(1).sum().item<long>();
                }
                if (!withR) return;
                var rel = relevant.to(ScalarType.Float64);
                var rc = rAll.narrow(0, start, c);
                var withinR = positions.unsqueeze(0).lt(rc.unsqueeze(1)).to(ScalarType.Float64); // rank i <= R
                var precision = rel.cumsum(1).div(ranks);                                        // P(i)
                var denominator = rc.clamp_min(1).to(ScalarType.Float64);
                var valid = rc.gt(0).to(ScalarType.Float64);
                apSum += (precision * rel * withinR).sum(1).div(denominator).mul(valid).sum().item<double>();
                rpSum += (rel * withinR).sum(1).div(denominator).mul(valid).sum().item<double>();
            });
        }

        var recall = new Dictionary<int, double>();
        for (var j = 0; j < ks.Count; j++) recall[ks[j]] = hits[j] / ql.Length;
        return new RetrievalResult(recall,
            withR ? apSum / withRelevant : double.NaN,
            withR ? rpSum / withRelevant : double.NaN,
            ql.Length, withRelevant);
    }

    /// <summary>Labels as managed longs (the checks return an int64 tensor on the embeddings' device).</summary>
    private static long[] LabelArray(Tensor labels)
    {
        using var owned = labels;
        using var cpu = owned.cpu();
        return cpu.data<long>().ToArray();
    }
}
