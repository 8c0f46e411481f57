namespace EmbeddingDistillation.Data;

/// <summary>
/// The P x K class-balanced batch sampler of metric learning (the paper: 4 classes x 8 images = 32): every batch
/// holds exactly P distinct classes with K images each, so batch-hard mining always finds positives and negatives.
/// </summary>
/// <remarks>
/// Within an epoch classes are visited in a shuffled order, P at a time, and reshuffled when fewer than P remain
/// (so every class is drawn once before any class repeats, up to that remainder). Each class keeps a shuffled
/// pool of its images and hands out K at a time, reshuffling when fewer than K are left, so images of a class
/// are not repeated within a batch and cover the class evenly. A class with fewer than K images gives all its
/// images plus draws with replacement to fill K (or is skipped, see
/// <see cref="ClassBalancedSamplerOptions.SkipClassesWithFewerThanK"/>). Unlabelled samples
/// (<see cref="DatasetLabels.Unlabelled"/>) are never drawn.
/// </remarks>
public sealed class ClassBalancedSampler : IBatchSampler
{
    private readonly int[] _classes;
    private readonly int[][] _membersByClass;
    private readonly ClassBalancedSamplerOptions _options;

    /// <summary>Creates a sampler over the labels of a dataset (or a subset view of it).</summary>
    /// <param name="labels">One label per sample; <see cref="DatasetLabels.Unlabelled"/> marks unlabelled samples.</param>
    /// <param name="options">P, K, epoch length, small-class rule and seed; null means the defaults.</param>
    /// <exception cref="ArgumentException">A label below -1, a non-positive P/K/epoch length, or fewer than P usable classes.</exception>
    public ClassBalancedSampler(IReadOnlyList<int> labels, ClassBalancedSamplerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(labels);
        _options = options ?? new ClassBalancedSamplerOptions();
        var p = _options.ClassesPerBatch;
        var k = _options.ImagesPerClass;
        if (p < 1)
            throw new ArgumentException($"ClassesPerBatch must be at least 1; got {p}.", nameof(options));
        if (k < 1)
            throw new ArgumentException($"ImagesPerClass must be at least 1; got {k}.", nameof(options));
        if (_options.BatchesPerEpoch is < 1)
            throw new ArgumentException($"BatchesPerEpoch must be at least 1 when set; got {_options.BatchesPerEpoch}.", nameof(options));

        var byClass = new SortedDictionary<int, List<int>>();
        for (var i = 0; i < labels.Count; i++)
        {
            var label = labels[i];
            if (label == DatasetLabels.Unlabelled) continue;
            if (label < 0)
                throw new ArgumentException($"Label {label} of sample {i} is invalid: labels are >= 0, or {DatasetLabels.Unlabelled} for unlabelled.", nameof(labels));
            if (!byClass.TryGetValue(label, out var list)) byClass[label] = list = [];
            list.Add(i);
        }

        var eligible = byClass.Where(kv => !_options.SkipClassesWithFewerThanK || kv.Value.Count >= k).ToList();
        if (eligible.Count < p)
        {
            var detail = _options.SkipClassesWithFewerThanK
                ? $" ({byClass.Count} labelled classes, {eligible.Count} of them with at least K = {k} images; SkipClassesWithFewerThanK is on)"
                : $" ({byClass.Count} labelled classes among {labels.Count} samples)";
            throw new ArgumentException(
                $"A P x K batch needs at least P = {p} classes, but only {eligible.Count} usable classes exist{detail}.", nameof(labels));
        }

        _classes = eligible.Select(kv => kv.Key).ToArray();
        _membersByClass = eligible.Select(kv => kv.Value.ToArray()).ToArray();
        LabelledSampleCount = _membersByClass.Sum(m => m.Length);
        BatchesPerEpoch = _options.BatchesPerEpoch ?? Math.Max(1, LabelledSampleCount / (p * k));
    }

    /// <summary>P * K, the number of indices in every batch.</summary>
    public int BatchSize => _options.ClassesPerBatch * _options.ImagesPerClass;

    /// <inheritdoc />
    public int BatchesPerEpoch { get; }

    /// <summary>The classes this sampler draws from (sorted class ids).</summary>
    public IReadOnlyList<int> Classes => _classes;

    /// <summary>The number of samples of the drawable classes (the default epoch length is this / (P * K)).</summary>
    public int LabelledSampleCount { get; }

    /// <inheritdoc />
    public IReadOnlyList<int[]> Epoch(int epoch)
    {
        if (epoch < 0) throw new ArgumentOutOfRangeException(nameof(epoch), epoch, "The epoch number must be at least 0.");
        var p = _options.ClassesPerBatch;
        var k = _options.ImagesPerClass;
        var rng = SplitMix64.Derive(_options.Seed, epoch, 0x5A3B1E);

        // Per-class image pools, shuffled once per epoch and reshuffled when exhausted.
        var pools = _membersByClass.Select(m => (int[])m.Clone()).ToArray();
        var poolPos = new int[pools.Length];
        foreach (var pool in pools) rng.Shuffle(pool);

        var classOrder = Enumerable.Range(0, _classes.Length).ToArray();
        rng.Shuffle(classOrder);
        var classPos = 0;

        var batches = new int[BatchesPerEpoch][];
        for (var b = 0; b < BatchesPerEpoch; b++)
        {
            if (classPos + p > classOrder.Length)
            {
                rng.Shuffle(classOrder);
                classPos = 0;
            }

            var batch = new int[p * k];
            var n = 0;
            for (var c = 0; c < p; c++)
            {
                var cls = classOrder[classPos++];
                var pool = pools[cls];
                if (pool.Length < k)
                {
                    // Too few images: all of them once, then duplicates drawn with replacement.
                    foreach (var idx in pool) batch[n++] = idx;
                    for (var r = pool.Length; r < k; r++) batch[n++] = pool[rng.NextInt(pool.Length)];
                    continue;
                }

                if (poolPos[cls] + k > pool.Length)
                {
                    rng.Shuffle(pool);
                    poolPos[cls] = 0;
                }
                for (var r = 0; r < k; r++) batch[n++] = pool[poolPos[cls]++];
            }
            batches[b] = batch;
        }
        return batches;
    }
}
