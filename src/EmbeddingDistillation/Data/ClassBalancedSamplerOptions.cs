namespace EmbeddingDistillation.Data;

/// <summary>Options of <see cref="ClassBalancedSampler"/>. The defaults are the paper's 4 x 8 batches.</summary>
public sealed class ClassBalancedSamplerOptions
{
    /// <summary>P: distinct classes per batch. Default 4 (the paper).</summary>
    public int ClassesPerBatch { get; init; } = 4;

    /// <summary>K: images per class in a batch. Default 8 (the paper).</summary>
    public int ImagesPerClass { get; init; } = 8;

    /// <summary>
    /// Batches per epoch; null (default) means floor(labelled images of the eligible classes / (P * K)), at least 1.
    /// </summary>
    public int? BatchesPerEpoch { get; init; }

    /// <summary>
    /// What to do with a class that has fewer than K images. False (default): keep it and fill its K slots by
    /// drawing extra images of that class with replacement (every image appears at least once, duplicates fill
    /// the rest). True: never draw that class.
    /// </summary>
    public bool SkipClassesWithFewerThanK { get; init; }

    /// <summary>Seed of the sampling; the epoch number is mixed in. Default 0.</summary>
    public int Seed { get; init; }
}
