namespace EmbeddingDistillation.Evaluation;

/// <summary>The Recall@K cut-offs of the standard benchmarks.</summary>
public static class RecallPresets
{
    /// <summary>CUB-200-2011 and Cars-196: Recall@{1, 2, 4, 8, 16}.</summary>
    public static IReadOnlyList<int> CubCars { get; } = [1, 2, 4, 8, 16];

    /// <summary>Stanford Online Products: Recall@{1, 10, 100, 1000}.</summary>
    public static IReadOnlyList<int> Sop { get; } = [1, 10, 100, 1000];

    /// <summary>The quickstart sample: Recall@{1, 2, 4, 8}.</summary>
    public static IReadOnlyList<int> Quickstart { get; } = [1, 2, 4, 8];
}
