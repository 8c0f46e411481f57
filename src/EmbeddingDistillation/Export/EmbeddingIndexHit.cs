namespace EmbeddingDistillation.Export;

/// <summary>One search result of an <see cref="EmbeddingIndex"/>.</summary>
/// <param name="Id">The item's id (given at build time; the dataset index by default).</param>
/// <param name="Name">The item's optional name (e.g. an image path), or null when the index has no names.</param>
/// <param name="Distance">
/// The distance to the query: Euclidean distance, or 1 - cos for <see cref="Evaluation.KnnMetric.Cosine"/>
/// (so the cosine similarity is <c>1 - Distance</c>). Smaller is nearer.
/// </param>
/// <param name="Row">The item's row in <see cref="EmbeddingIndex.Embeddings"/>.</param>
public readonly record struct EmbeddingIndexHit(long Id, string? Name, double Distance, int Row);
