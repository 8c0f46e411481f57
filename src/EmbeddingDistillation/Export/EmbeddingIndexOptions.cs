using EmbeddingDistillation.Evaluation;

namespace EmbeddingDistillation.Export;

/// <summary>Options of <see cref="EmbeddingIndex"/> construction and search.</summary>
public sealed class EmbeddingIndexOptions
{
    /// <summary>
    /// The distance the index ranks by: <see cref="KnnMetric.Euclidean"/> (default, the paper's protocol) or
    /// <see cref="KnnMetric.Cosine"/> (1 - cos; both sides L2-normalised at search time). Stored in the index file.
    /// </summary>
    public KnnMetric Metric { get; init; } = KnnMetric.Euclidean;

    /// <summary>
    /// Working-memory budget of one query chunk during search, in bytes (see <see cref="KnnOptions.MemoryBudgetBytes"/>).
    /// Default <see cref="KnnOptions.DefaultMemoryBudgetBytes"/> (512 MiB). Not stored in the file.
    /// </summary>
    public long SearchMemoryBudgetBytes { get; init; } = KnnOptions.DefaultMemoryBudgetBytes;

    /// <summary>Images per forward pass when the index embeds a dataset. Default <see cref="EmbeddingExtractor.DefaultBatchSize"/> (64).</summary>
    public int BatchSize { get; init; } = EmbeddingExtractor.DefaultBatchSize;

    /// <summary>Shared default options.</summary>
    public static EmbeddingIndexOptions Default { get; } = new();
}
