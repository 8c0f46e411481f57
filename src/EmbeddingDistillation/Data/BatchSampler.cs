namespace EmbeddingDistillation.Data;

/// <summary>
/// Plain batches over a list of sample indices, in order (evaluation, embedding extraction) or shuffled per epoch
/// (unlabelled batches of semi-supervised distillation). Labels are not looked at.
/// </summary>
public sealed class BatchSampler : IBatchSampler
{
    private readonly int[] _indices;

    /// <summary>Batches over the samples 0 .. count-1.</summary>
    /// <param name="count">The number of samples (at least 1).</param>
    /// <param name="batchSize">Samples per batch (at least 1).</param>
    /// <param name="shuffle">Shuffle the order every epoch (default false: sequential).</param>
    /// <param name="dropLast">Drop a last incomplete batch (default false: keep it, smaller).</param>
    /// <param name="seed">Seed of the shuffling; the epoch number is mixed in.</param>
    public BatchSampler(int count, int batchSize, bool shuffle = false, bool dropLast = false, int seed = 0)
        : this(RangeOf(count), batchSize, shuffle, dropLast, seed)
    {
    }

    /// <summary>Batches over the given sample indices (for example the unlabelled samples of a dataset).</summary>
    /// <param name="indices">The sample indices to cover (at least one; kept in this order when not shuffling).</param>
    /// <param name="batchSize">Samples per batch (at least 1).</param>
    /// <param name="shuffle">Shuffle the order every epoch (default false: sequential).</param>
    /// <param name="dropLast">Drop a last incomplete batch (default false: keep it, smaller).</param>
    /// <param name="seed">Seed of the shuffling; the epoch number is mixed in.</param>
    public BatchSampler(IReadOnlyList<int> indices, int batchSize, bool shuffle = false, bool dropLast = false, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(indices);
        if (indices.Count == 0) throw new ArgumentException("The index list is empty: there is nothing to batch.", nameof(indices));
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "The batch size must be at least 1.");
        if (dropLast && indices.Count < batchSize)
            throw new ArgumentException($"With dropLast, {indices.Count} samples give no full batch of {batchSize}.", nameof(indices));
        _indices = indices.ToArray();
        BatchSize = batchSize;
        Shuffle = shuffle;
        DropLast = dropLast;
        Seed = seed;
        BatchesPerEpoch = dropLast ? _indices.Length / batchSize : (_indices.Length + batchSize - 1) / batchSize;
    }

    /// <summary>Samples per (full) batch.</summary>
    internal int BatchSize { get; }

    /// <summary>Whether the order is shuffled every epoch.</summary>
    internal bool Shuffle { get; }

    /// <summary>Whether a last incomplete batch is dropped.</summary>
    internal bool DropLast { get; }

    /// <summary>The shuffling seed.</summary>
    internal int Seed { get; }

    /// <inheritdoc />
    public int BatchesPerEpoch { get; }

    /// <inheritdoc />
    public IReadOnlyList<int[]> Epoch(int epoch)
    {
        if (epoch < 0) throw new ArgumentOutOfRangeException(nameof(epoch), epoch, "The epoch number must be at least 0.");
        var order = (int[])_indices.Clone();
        if (Shuffle)
        {
            var rng = SplitMix64.Derive(Seed, epoch, 0x3C71);
            rng.Shuffle(order);
        }
        var batches = new int[BatchesPerEpoch][];
        for (var b = 0; b < BatchesPerEpoch; b++)
        {
            var start = b * BatchSize;
            batches[b] = order.AsSpan(start, Math.Min(BatchSize, order.Length - start)).ToArray();
        }
        return batches;
    }

    private static int[] RangeOf(int count)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, "The sample count must be at least 1.");
        return Enumerable.Range(0, count).ToArray();
    }
}
