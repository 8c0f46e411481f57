namespace EmbeddingDistillation.Training;

/// <summary>One progress report of a training run (per step, and after each validation).</summary>
public sealed record TrainingProgress
{
    /// <summary>Steps completed in the run so far (1-based after the first step).</summary>
    public required int Step { get; init; }

    /// <summary>Total steps the run will take.</summary>
    public required int TotalSteps { get; init; }

    /// <summary>The current epoch (0-based).</summary>
    public required int Epoch { get; init; }

    /// <summary>Total epochs.</summary>
    public required int TotalEpochs { get; init; }

    /// <summary>The weighted total loss of the last step.</summary>
    public required double Loss { get; init; }

    /// <summary>Each term's unweighted value in the last step, by term name.</summary>
    public required IReadOnlyDictionary<string, double> Terms { get; init; }

    /// <summary>The learning rate of the last step (base group).</summary>
    public required double LearningRate { get; init; }

    /// <summary>Training throughput, student images per second, averaged over this session of the run.</summary>
    public required double ImagesPerSecond { get; init; }

    /// <summary>Estimated time to the end of the run.</summary>
    public required TimeSpan Eta { get; init; }

    /// <summary>Whether the last step's batch was labelled (false for an unlabelled, semi-supervised batch).</summary>
    public bool Labelled { get; init; } = true;

    /// <summary>Whether the last step was skipped for non-finite values (<see cref="NonFiniteStepPolicy.Skip"/>).</summary>
    public bool Skipped { get; init; }

    /// <summary>Validation metrics when this report follows a validation, else null.</summary>
    public IReadOnlyDictionary<string, double>? Validation { get; init; }
}
