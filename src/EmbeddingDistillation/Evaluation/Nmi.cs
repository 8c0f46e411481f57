using EmbeddingDistillation.Primitives;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Evaluation;

/// <summary>
/// Normalised mutual information between a clustering of the embeddings and the class labels: k-means with
/// k = the number of distinct labels (<see cref="KMeans"/>, seeded), then
/// NMI = I(C; L) / ((H(C) + H(L)) / 2), the arithmetic-mean normalisation (scikit-learn's default), natural logs.
/// </summary>
/// <remarks>
/// Conventions as scikit-learn: when both the clustering and the labels have a single group (both entropies 0)
/// the NMI is 1; small negative round-off of the mutual information is clipped to 0.
/// </remarks>
internal static class Nmi
{
    /// <summary>Clusters <paramref name="embeddings"/> with k-means (k = number of distinct labels) and scores the clustering.</summary>
    /// <param name="embeddings">[N, D] float32 or float64, finite.</param>
    /// <param name="labels">[N] integer class labels.</param>
    /// <param name="options">k-means options (seed 0, 100 iterations, tolerance 1e-4 by default).</param>
    /// <param name="cancellationToken">Checked between k-means iterations.</param>
    public static double Compute(Tensor embeddings, Tensor labels, KMeansOptions? options = null, CancellationToken cancellationToken = default)
    {
        TensorChecks.Embeddings(embeddings, nameof(embeddings), "Nmi", 1, allowHalf: false, finite: true);
        var l = LabelArray(TensorChecks.Labels(labels, embeddings, "Nmi", nameof(labels), nameof(embeddings)));
        var k = l.Distinct().Count();
        var clustering = KMeans.Fit(embeddings, k, options, cancellationToken);
        return FromAssignments(clustering.Assignments, l);
    }

    /// <summary>NMI (arithmetic mean) of two labellings of the same items, e.g. cluster ids and class labels.</summary>
    /// <param name="clusters">The cluster of each item.</param>
    /// <param name="labels">The class of each item (same length).</param>
    public static double FromAssignments(IReadOnlyList<long> clusters, IReadOnlyList<long> labels)
    {
        ArgumentNullException.ThrowIfNull(clusters);
        ArgumentNullException.ThrowIfNull(labels);
        if (clusters.Count != labels.Count)
            throw new ArgumentException($"clusters has {clusters.Count} entries but labels has {labels.Count}.", nameof(labels));
        if (clusters.Count == 0)
            throw new ArgumentException("NMI needs at least one item; got empty assignments.", nameof(clusters));

        var n = (double)clusters.Count;
        var joint = new Dictionary<(long, long), int>();
        var perCluster = new Dictionary<long, int>();
        var perLabel = new Dictionary<long, int>();
        for (var i = 0; i < clusters.Count; i++)
        {
            joint[(clusters[i], labels[i])] = joint.GetValueOrDefault((clusters[i], labels[i])) + 1;
            perCluster[clusters[i]] = perCluster.GetValueOrDefault(clusters[i]) + 1;
            perLabel[labels[i]] = perLabel.GetValueOrDefault(labels[i]) + 1;
        }
        var hClusters = Entropy(perCluster.Values, n);
        var hLabels = Entropy(perLabel.Values, n);
        if (hClusters == 0 && hLabels == 0) return 1.0;

        double mi = 0;
        foreach (var ((c, l), count) in joint)
        {
            var p = count / n;
            mi += p * Math.Log(count * n / ((double)perCluster[c] * perLabel[l]));
        }
        return Math.Max(mi, 0) / ((hClusters + hLabels) / 2);
    }

    private static double Entropy(IEnumerable<int> counts, double n) =>
        -counts.Sum(count => count / n * Math.Log(count / n));

    /// <summary>Labels as managed longs (the checks return an int64 tensor on the embeddings' device).</summary>
    private static long[] LabelArray(Tensor labels)
    {
        using var owned = labels;
        using var cpu = owned.cpu();
        return cpu.data<long>().ToArray();
    }
}
