namespace EmbeddingDistillation.Data;

/// <summary>
/// Produces the batches of one epoch as lists of sample indices. Deterministic: the same sampler (same seed)
/// returns the same batches for the same epoch number, so a resumed run sees exactly the batches it would have seen.
/// </summary>
public interface IBatchSampler
{
    /// <summary>The number of batches in every epoch.</summary>
    int BatchesPerEpoch { get; }

    /// <summary>The batches of epoch <paramref name="epoch"/> (0-based), each an array of sample indices.</summary>
    /// <param name="epoch">The epoch number, at least 0; it is mixed into the seed.</param>
    IReadOnlyList<int[]> Epoch(int epoch);
}
