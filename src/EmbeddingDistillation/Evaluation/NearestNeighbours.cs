using EmbeddingDistillation.Primitives;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Evaluation;

/// <summary>
/// Exact k-nearest-neighbour search by chunked Gram matmul: queries are processed in row chunks, each chunk is
/// scored against the whole gallery with <see cref="PairwiseDistances.SquaredEuclideanRowShifted"/>
/// (|g|^2 - 2 q.g, one addmm into one buffer), <c>topk</c> keeps the k smallest, and |q|^2 is added back (clamped
/// at 0) to those k only. Memory is bounded by <see cref="KnnOptions.MemoryBudgetBytes"/>.
/// </summary>
/// <remarks>
/// Self-match exclusion: when the queries are the gallery, each chunk's own diagonal is set to +inf before
/// <c>topk</c>, so an item is never its own neighbour (duplicates of it still are, at distance 0).
/// Ties: at equal computed score the lower gallery index ranks first. <c>topk</c> alone does not promise this, so
/// (1) rows where more gallery items than k are at or below the k-th score (detected by taking k + 1 and comparing
/// the last two; a tie straddles the cut) are re-ranked with a stable full sort of that row, and (2) the k survivors of every row are ordered by
/// (distance, index) with two small sorts (by index, then stable by distance). Distinct distances keep their order.
/// </remarks>
internal static class NearestNeighbours
{
    /// <summary>
    /// Bytes of chunk temporaries per query row against a gallery of <paramref name="gallerySize"/> items: the
    /// score row (one element per gallery item) plus an equal reserve for the stable re-sort of rows where a tie
    /// straddles the k-th place (done in slices that fit it), i.e. 2 elements per gallery item.
    /// </summary>
    /// <param name="gallerySize">Gallery rows G.</param>
    /// <param name="dtype">Embedding dtype (float32: 4 bytes per element, float64: 8).</param>
    public static long BytesPerChunkRow(long gallerySize, ScalarType dtype) => gallerySize * 2 * ElementSize(dtype);

    /// <summary>The query rows per chunk: the largest count whose temporaries fit <paramref name="memoryBudgetBytes"/>, at least 1.</summary>
    /// <param name="gallerySize">Gallery rows G.</param>
    /// <param name="dtype">Embedding dtype.</param>
    /// <param name="memoryBudgetBytes">The budget (<see cref="KnnOptions.MemoryBudgetBytes"/>).</param>
    public static int ChunkRows(long gallerySize, ScalarType dtype, long memoryBudgetBytes)
    {
        if (memoryBudgetBytes <= 0)
            throw new ArgumentOutOfRangeException(nameof(memoryBudgetBytes), memoryBudgetBytes, "The kNN memory budget must be positive.");
        var rows = memoryBudgetBytes / Math.Max(1, BytesPerChunkRow(gallerySize, dtype));
        return (int)Math.Clamp(rows, 1, int.MaxValue);
    }

    /// <summary>
    /// Exact kNN of every row of <paramref name="embeddings"/> among the other rows (self-match excluded).
    /// </summary>
    /// <param name="embeddings">[N, D] float32 or float64, finite.</param>
    /// <param name="k">Neighbours per query, 1..N-1.</param>
    /// <param name="options">Metric and memory budget; null for <see cref="KnnOptions.Default"/>.</param>
    /// <param name="cancellationToken">Checked between chunks.</param>
    public static KnnResult Search(Tensor embeddings, int k, KnnOptions? options = null, CancellationToken cancellationToken = default) =>
        SearchCore(embeddings, null, k, options, cancellationToken);

    /// <summary>Exact kNN of every query among a separate gallery (nothing excluded).</summary>
    /// <param name="queries">[Q, D] float32 or float64, finite.</param>
    /// <param name="gallery">[G, D], same dtype and device as <paramref name="queries"/>.</param>
    /// <param name="k">Neighbours per query, 1..G.</param>
    /// <param name="options">Metric and memory budget; null for <see cref="KnnOptions.Default"/>.</param>
    /// <param name="cancellationToken">Checked between chunks.</param>
    public static KnnResult Search(Tensor queries, Tensor gallery, int k, KnnOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(gallery);
        return SearchCore(queries, gallery, k, options, cancellationToken);
    }

    private static KnnResult SearchCore(Tensor queries, Tensor? gallery, int k, KnnOptions? options, CancellationToken cancellationToken)
    {
        TensorChecks.Embeddings(queries, gallery is null ? "embeddings" : "queries", "NearestNeighbours", gallery is null ? 2 : 1, allowHalf: false, finite: true);
        CheckK(queries, gallery, k);
        return Collect(queries, k, onChunk => ForEachChunk(queries, gallery, k, options ?? KnnOptions.Default, cancellationToken, onChunk));
    }

    /// <summary>Searches a gallery prepared once (the queries checked by the caller: float, [Q, D], the gallery's dtype and device).</summary>
    internal static KnnResult Search(Tensor queries, PreparedGallery gallery, int k, KnnOptions options, CancellationToken cancellationToken) =>
        Collect(queries, k, onChunk => ForEachChunk(queries, gallery, self: false, k, options, cancellationToken, onChunk));

    private static KnnResult Collect(Tensor queries, int k, Action<Action<long, Tensor, Tensor>> search)
    {
        // Allocated in the caller's dispose scope (if any); the chunks are copied in.
        var indices = empty(queries.shape[0], k, dtype: ScalarType.Int64, device: queries.device);
        var distances = empty(queries.shape[0], k, dtype: queries.dtype, device: queries.device);
        try
        {
            search((start, idx, dist) =>
            {
                indices.narrow(0, start, idx.shape[0]).copy_(idx);
                distances.narrow(0, start, dist.shape[0]).copy_(dist);
            });
            return new KnnResult(indices, distances);
        }
        catch
        {
            indices.Dispose();
            distances.Dispose();
            throw;
        }
    }

    private static void CheckK(Tensor queries, Tensor? gallery, int k)
    {
        var self = gallery is null;
        var source = gallery ?? queries;
        if (source.dim() != 2)
            throw new ArgumentException($"{(self ? "embeddings" : "gallery")} must have shape [N, D]; got {TensorChecks.Shape(source)}.",
                self ? "embeddings" : "gallery");
        var g = source.shape[0];
        var maxK = self ? g - 1 : g;
        if (k < 1 || k > maxK)
            throw new ArgumentOutOfRangeException(nameof(k), k,
                $"k must be in [1, {maxK}] for a gallery of {g} items{(self ? " with the self-match excluded" : "")}.");
    }

    /// <summary>
    /// Runs the chunked search and hands each chunk's (first query row, indices [C, k], distances [C, k]) to
    /// <paramref name="onChunk"/> inside the chunk's dispose scope: whatever the callback creates is freed with it.
    /// </summary>
    internal static void ForEachChunk(Tensor queries, Tensor? gallery, int k, KnnOptions options,
        CancellationToken cancellationToken, Action<long, Tensor, Tensor> onChunk)
    {
        ArgumentNullException.ThrowIfNull(options);
        var self = gallery is null;
        TensorChecks.Embeddings(queries, self ? "embeddings" : "queries", "NearestNeighbours", self ? 2 : 1, allowHalf: false, finite: true);
        if (!self)
        {
            TensorChecks.Embeddings(gallery!, "gallery", "NearestNeighbours", 1, allowHalf: false, finite: true);
            PairwiseDistances.Validate(queries, gallery);
        }
        CheckK(queries, gallery, k);
        using var prepared = PreparedGallery.PrepareChecked(gallery ?? queries, options.Metric);
        ForEachChunk(queries, prepared, self, k, options, cancellationToken, onChunk);
    }

    /// <summary>
    /// The chunked search against a gallery validated and prepared once (<see cref="PreparedGallery"/>); the queries are
    /// assumed checked by the caller (float, [Q, D] on the gallery's device and dtype). With <paramref name="self"/> the
    /// queries are the gallery's own rows, and each row's self-match is excluded.
    /// </summary>
    internal static void ForEachChunk(Tensor queries, PreparedGallery gallery, bool self, int k, KnnOptions options,
        CancellationToken cancellationToken, Action<long, Tensor, Tensor> onChunk)
    {
        var rows = options.ChunkRows ?? ChunkRows(gallery.Count, queries.dtype, options.MemoryBudgetBytes);
        if (rows < 1)
            throw new ArgumentOutOfRangeException(nameof(options), rows, "KnnOptions.ChunkRows must be at least 1.");

        using var outer = NewDisposeScope();
        using var noGrad = no_grad();
        var cosine = gallery.Metric == KnnMetric.Cosine;
        var qs = self ? gallery.Vectors : cosine ? nn.functional.normalize(queries.detach(), p: 2, dim: 1) : queries.detach();
        var queryNorms = self ? gallery.SquaredNorms : qs.pow(2).sum(1);   // |q|^2, added back to the k kept
        for (long start = 0; start < qs.shape[0]; start += rows)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            var c = Math.Min(rows, qs.shape[0] - start);
            // |g|^2 - 2 q.g: the squared distance minus the row constant |q|^2, one buffer [c, G].
            var scores = torch.addmm(gallery.SquaredNorms.unsqueeze(0), qs.narrow(0, start, c), gallery.Vectors.t(), beta: 1, alpha: -2);
            if (self) scores.diagonal(start).fill_(double.PositiveInfinity);
            var (values, idx) = TopKDeterministic(scores, k);
            var d2 = values.add(queryNorms.narrow(0, start, c).unsqueeze(1)).clamp_min(0);
            var dist = cosine ? d2.mul(0.5) : d2.sqrt(); // |a-b|^2 / 2 = 1 - cos
            onChunk(start, idx, dist);
        }
    }

    private static (Tensor Values, Tensor Indices) TopKDeterministic(Tensor d, int k)
    {
        // One extra place: the (k+1)-th smallest equals the k-th exactly when more than k entries are <= the k-th
        // value, i.e. when a tie straddles the cut and topk may have kept any of the tied entries.
        var probe = (int)Math.Min(k + 1L, d.shape[1]);
        var (top, topIndices) = d.topk(probe, dim: 1, largest: false, sorted: true);
        var values = top.narrow(1, 0, k).contiguous();
        var indices = topIndices.narrow(1, 0, k).contiguous();
        if (probe > k)
        {
            var straddling = top.narrow(1, k, 1).eq(top.narrow(1, k - 1, 1)).squeeze(1).nonzero().squeeze(1);
            // A stable sort needs a row copy, sorted values and int64 indices (2e + 8 bytes per element); sort the
            // straddling rows in slices that fit the chunk's reserve of e bytes per element.
            var e = d.element_size();
            var slice = Math.Max(1, d.shape[0] * e / (2 * e + 8));
            for (long s = 0; s < straddling.shape[0]; s += slice)
            {
                using var scope = NewDisposeScope();
                var rows = straddling.narrow(0, s, Math.Min(slice, straddling.shape[0] - s));
                var (sv, si) = d.index_select(0, rows).sort(1, descending: false, stable: true);
                values.index_copy_(0, rows, sv.narrow(1, 0, k));
                indices.index_copy_(0, rows, si.narrow(1, 0, k));
            }
        }

        // Order the k survivors by (value, index): sort by index, then a stable sort by value.
        var (byIndex, perm) = indices.sort(1);
        var (ordered, perm2) = values.gather(1, perm).sort(1, descending: false, stable: true);
        return (ordered, byIndex.gather(1, perm2));
    }

    private static long ElementSize(ScalarType dtype) => dtype switch
    {
        ScalarType.Float64 or ScalarType.Int64 => 8,
        ScalarType.Float16 or ScalarType.BFloat16 => 2,
        _ => 4,
    };
}
