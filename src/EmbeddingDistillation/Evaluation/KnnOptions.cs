namespace EmbeddingDistillation.Evaluation;

/// <summary>The distance that <see cref="NearestNeighbours"/> ranks by.</summary>
public enum KnnMetric
{
    /// <summary>Euclidean distance (the paper's protocol; on L2-normalised embeddings it ranks like cosine).</summary>
    Euclidean,

    /// <summary>Cosine distance 1 - cos(q, g): both sides are L2-normalised first.</summary>
    Cosine,
}

/// <summary>Options of the exact k-nearest-neighbour search.</summary>
public sealed class KnnOptions
{
    /// <summary>The default working-memory budget of one query chunk: 512 MiB.</summary>
    public const long DefaultMemoryBudgetBytes = 512L * 1024 * 1024;

    /// <summary>The distance. Default <see cref="KnnMetric.Euclidean"/>.</summary>
    public KnnMetric Metric { get; init; } = KnnMetric.Euclidean;

    /// <summary>
    /// Upper bound, in bytes, of the temporaries of one query chunk (its distance rows and their scratch copies;
    /// see <see cref="NearestNeighbours.BytesPerChunkRow"/>). The number of query rows per chunk is the largest
    /// that fits, at least 1. Default <see cref="DefaultMemoryBudgetBytes"/> (512 MiB). Larger budgets mean
    /// fewer, larger matmuls; the results do not depend on it.
    /// </summary>
    public long MemoryBudgetBytes { get; init; } = DefaultMemoryBudgetBytes;

    /// <summary>
    /// Query rows per chunk, overriding <see cref="MemoryBudgetBytes"/> when set (for tests and tuning).
    /// Default null (derive from the budget).
    /// </summary>
    public int? ChunkRows { get; init; }

    /// <summary>Shared default options.</summary>
    public static KnnOptions Default { get; } = new();
}
