namespace EmbeddingDistillation.Training;

/// <summary>One progress report of a training run (per step, and after each validation).</summary>
public sealed class TrainingProgress
{
    /// <summary>Steps completed in the run so far (1-based after the first step).</summary>
    public int Step { get; internal init; }

    /// <summary>Total steps the run will take.</summary>
    public int TotalSteps { get; internal init; }

    /// <summary>The current epoch (0-based).</summary>
    public int Epoch { get; internal init; }

    /// <summary>Total epochs.</summary>
    public int TotalEpochs { get; internal init; }

    /// <summary>The weighted total loss of the last step.</summary>
    public double Loss { get; internal init; }

    /// <summary>Each term's unweighted value in the last step, by term name.</summary>
    public IReadOnlyDictionary<string, double> Terms { get; internal init; } = new Dictionary<string, double>();

    /// <summary>The learning rate of the last step (base group).</summary>
    public double LearningRate { get; internal init; }

    /// <summary>Training throughput, student images per second, averaged over this session of the run.</summary>
    public double ImagesPerSecond { get; internal init; }

    /// <summary>Estimated time to the end of the run.</summary>
    public TimeSpan Eta { get; internal init; }

    /// <summary>Whether the last step's batch was labelled (false for an unlabelled, semi-supervised batch).</summary>
    public bool Labelled { get; internal init; } = true;

    /// <summary>Whether the last step was skipped for non-finite values (<see cref="NonFiniteStepPolicy.Skip"/>).</summary>
    public bool Skipped { get; internal init; }

    /// <summary>Validation metrics when this report follows a validation, else null.</summary>
    public IReadOnlyDictionary<string, double>? Validation { get; internal init; }
}
