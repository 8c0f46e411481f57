using EmbeddingDistillation.Primitives;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Evaluation;

/// <summary>Options of <see cref="KMeans"/>.</summary>
internal sealed class KMeansOptions
{
    /// <summary>Seed of the k-means++ initialisation. Default 0.</summary>
    public int Seed { get; init; }

    /// <summary>Maximum number of Lloyd iterations. Default 100.</summary>
    public int MaxIterations { get; init; } = 100;

    /// <summary>
    /// Convergence tolerance: stop when the total squared centroid shift of an iteration is at most
    /// Tolerance x (mean per-dimension variance of the data), as scikit-learn does. Default 1e-4.
    /// </summary>
    public double Tolerance { get; init; } = 1e-4;

    /// <summary>Working-memory budget of one chunk of the point-to-centroid distances, in bytes. Default 512 MiB.</summary>
    public long MemoryBudgetBytes { get; init; } = KnnOptions.DefaultMemoryBudgetBytes;
}

/// <summary>The outcome of <see cref="KMeans.Fit"/>.</summary>
/// <param name="Assignments">The cluster of each point, in [0, k).</param>
/// <param name="Iterations">Lloyd iterations run.</param>
/// <param name="Inertia">Sum of squared distances of the points to their assigned centroids.</param>
internal sealed record KMeansResult(long[] Assignments, int Iterations, double Inertia);

/// <summary>
/// Deterministic k-means: k-means++ initialisation (D^2 sampling from a seeded <see cref="Random"/>), then Lloyd
/// iterations whose point-to-centroid distances come from the Gram kernel
/// (<see cref="PairwiseDistances.SquaredEuclideanRowShifted"/>, as the kNN) in memory-bounded chunks.
/// </summary>
/// <remarks>
/// Nearest-centroid ties go to the lower centroid index (argmin returns the first minimum). A cluster that loses
/// all its points keeps its previous centroid. Same data, options and device give the same assignments.
/// </remarks>
internal static class KMeans
{
    /// <summary>Clusters the rows of <paramref name="points"/> into <paramref name="clusters"/> groups.</summary>
    /// <param name="points">[N, D] float32 or float64, finite.</param>
    /// <param name="clusters">k, in [1, N].</param>
    /// <param name="options">Seed, iterations, tolerance; null for the defaults.</param>
    /// <param name="cancellationToken">Checked between iterations.</param>
    public static KMeansResult Fit(Tensor points, int clusters, KMeansOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new KMeansOptions();
        TensorChecks.Embeddings(points, nameof(points), "KMeans", 1, allowHalf: false, finite: true);
        var n = points.shape[0];
        if (clusters < 1 || clusters > n)
            throw new ArgumentOutOfRangeException(nameof(clusters), clusters, $"k-means needs 1 <= k <= N = {n} for points {TensorChecks.Shape(points)}.");
        if (options.MaxIterations < 1)
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxIterations, "KMeansOptions.MaxIterations must be at least 1.");

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var x = points.detach();
        var centroids = PlusPlus(x, clusters, new Random(options.Seed), cancellationToken);
        var threshold = options.Tolerance * x.var(0, unbiased: false).mean().ToDouble();
        var rows = NearestNeighbours.ChunkRows(clusters, x.dtype, options.MemoryBudgetBytes);

        var iterations = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var iteration = NewDisposeScope(); // frees this iteration's assignments and centroid copy
            var (assignments, _) = Assign(x, centroids, rows);
            iterations++;
            var updated = Update(x, assignments, centroids);
            var shift = (updated - centroids).pow(2).sum().ToDouble();
            centroids.copy_(updated);
            if (shift <= threshold || iterations >= options.MaxIterations) break;
        }
        var (final, inertia) = Assign(x, centroids, rows);
        return new KMeansResult(final.cpu().data<long>().ToArray(), iterations, inertia);
    }

    /// <summary>k-means++: the first centre uniformly, each next one with probability proportional to D^2.</summary>
    private static Tensor PlusPlus(Tensor x, int k, Random random, CancellationToken cancellationToken)
    {
        var n = x.shape[0];
        var chosen = new long[k];
        chosen[0] = random.NextInt64(n);
        var minD2 = PairwiseDistances.SquaredEuclidean(x, x.narrow(0, chosen[0], 1)).squeeze(1);
        for (var c = 1; c < k; c++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var step = NewDisposeScope();
            var cumulative = minD2.cumsum(0);
            var total = cumulative[n - 1].ToDouble();
            // All points sit on chosen centres (duplicates): any point is as good; draw uniformly.
            chosen[c] = total > 0
                ? Math.Min(cumulative.le(random.NextDouble() * total).sum().item<long>(), n - 1)
                : random.NextInt64(n);
            var d2 = PairwiseDistances.SquaredEuclidean(x, x.narrow(0, chosen[c], 1)).squeeze(1);
            minD2.copy_(minimum(minD2, d2));
        }
        return x.index_select(0, tensor(chosen, device: x.device));
    }

    /// <summary>Nearest centroid of every point (chunked) and the total squared distance.</summary>
    private static (Tensor Assignments, double Inertia) Assign(Tensor x, Tensor centroids, int rows)
    {
        var assignments = empty(x.shape[0], dtype: ScalarType.Int64, device: x.device);
        double inertia = 0;
        for (long start = 0; start < x.shape[0]; start += rows)
        {
            using var chunk = NewDisposeScope();
            var c = Math.Min(rows, x.shape[0] - start);
            var points = x.narrow(0, start, c);
            // |c|^2 - 2 x.c ranks the centroids like the squared distance, in one [c, k] buffer.
            var (values, indices) = PairwiseDistances.SquaredEuclideanRowShifted(points, centroids).min(1);
            assignments.narrow(0, start, c).copy_(indices);
            inertia += values.add(points.pow(2).sum(1)).clamp_min(0).sum().ToDouble();
        }
        return (assignments, inertia);
    }

    /// <summary>New centroids = means of their points; an empty cluster keeps its old centroid.</summary>
    private static Tensor Update(Tensor x, Tensor assignments, Tensor centroids)
    {
        var k = centroids.shape[0];
        var sums = zeros_like(centroids).index_add_(0, assignments, x, 1);
        var counts = assignments.bincount(null, k).to(x.dtype).unsqueeze(1);
        return where(counts.gt(0), sums / counts.clamp_min(1), centroids);
    }
}
