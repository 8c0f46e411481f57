namespace EmbeddingDistillation.Data;

/// <summary>
/// Produces the batches of one epoch as lists of sample indices. An epoch is exactly the list returned for it;
/// the same sampler, seed and epoch always return the same batches (resuming a run relies on it).
/// </summary>
public interface IBatchSampler
{
    /// <summary>The number of batches in every epoch.</summary>
    int BatchesPerEpoch { get; }

    /// <summary>The batches of epoch <paramref name="epoch"/> (0-based).</summary>
    /// <param name="epoch">The epoch index.</param>
    IReadOnlyList<int[]> EpochBatches(int epoch);
}
