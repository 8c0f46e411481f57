namespace EmbeddingDistillation.Export;

/// <summary>One search result of an <see cref="EmbeddingIndex"/>.</summary>
public readonly record struct EmbeddingIndexHit
{
    internal EmbeddingIndexHit(long Id, string? Name, double Distance, int Row)
    {
        this.Id = Id;
        this.Name = Name;
        this.Distance = Distance;
        this.Row = Row;
    }

    /// <summary>The item's id (given at build time; the dataset index by default).</summary>
    public long Id { get; }

    /// <summary>The item's optional name (e.g. an image path), or null when the index has no names.</summary>
    public string? Name { get; }

    /// <summary> The distance to the query: Euclidean distance, or 1 - cos for <see cref="Evaluation.KnnMetric.Cosine"/> (so the cosine similarity is <c>1 - Distance</c>). Smaller is nearer. </summary>
    public double Distance { get; }

    /// <summary>The item's row in <see cref="EmbeddingIndex.Embeddings"/>.</summary>
    public int Row { get; }
}
