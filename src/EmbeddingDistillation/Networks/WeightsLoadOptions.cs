namespace EmbeddingDistillation.Networks;

/// <summary>Options of <see cref="PretrainedWeights"/>.</summary>
public sealed record WeightsLoadOptions
{
    /// <summary>
    /// Strict loading (default true): every key of the module must be in the file with the same shape and the
    /// file may hold no other keys (except <see cref="IgnoredPrefixes"/> and missing BatchNorm
    /// <c>num_batches_tracked</c> buffers, which old torchvision checkpoints lack). When false, matching keys are
    /// loaded and the rest (missing, unexpected, mis-shaped) is skipped and reported in the result.
    /// </summary>
    public bool Strict { get; init; } = true;

    /// <summary>
    /// Key prefixes of the file to ignore: the classifiers torchvision checkpoints carry. Default
    /// <c>fc.</c> (ResNets) and <c>classifier.</c> (MobileNets).
    /// </summary>
    public IReadOnlyList<string> IgnoredPrefixes { get; init; } = new[] { "fc.", "classifier." };
}

/// <summary>What <see cref="PretrainedWeights"/> loaded.</summary>
public sealed class WeightsLoadResult
{
    internal WeightsLoadResult(string File, IReadOnlyList<string> Loaded, IReadOnlyList<string> Ignored, IReadOnlyList<string> Missing, IReadOnlyList<string> Unexpected, IReadOnlyList<string> Mismatched)
    {
        this.File = File;
        this.Loaded = Loaded;
        this.Ignored = Ignored;
        this.Missing = Missing;
        this.Unexpected = Unexpected;
        this.Mismatched = Mismatched;
    }

    /// <summary>The file read.</summary>
    public string File { get; }

    /// <summary>Keys copied into the module.</summary>
    public IReadOnlyList<string> Loaded { get; }

    /// <summary>Keys of the file skipped by prefix.</summary>
    public IReadOnlyList<string> Ignored { get; }

    /// <summary>Keys of the module not in the file (left as they were).</summary>
    public IReadOnlyList<string> Missing { get; }

    /// <summary>Keys of the file the module does not have (non-strict only).</summary>
    public IReadOnlyList<string> Unexpected { get; }

    /// <summary>Keys present on both sides with different shapes (non-strict only; not loaded).</summary>
    public IReadOnlyList<string> Mismatched { get; }
}
