using System.Text.Json.Serialization;

namespace EmbeddingDistillation.Training;

/// <summary>A validation result in a run's history.</summary>
public sealed class ValidationRecord
{
    [JsonConstructor]
    internal ValidationRecord(int epoch, int step, IReadOnlyDictionary<string, double> metrics)
    {
        Epoch = epoch;
        Step = step;
        Metrics = metrics;
    }

    /// <summary>Epochs completed when it was measured.</summary>
    public int Epoch { get; }

    /// <summary>Steps completed when it was measured.</summary>
    public int Step { get; }

    /// <summary>The validator's metrics.</summary>
    public IReadOnlyDictionary<string, double> Metrics { get; }
}

/// <summary>One epoch's mean training losses in a run's history.</summary>
public sealed class EpochRecord
{
    [JsonConstructor]
    internal EpochRecord(int epoch, double loss, IReadOnlyDictionary<string, double> terms)
    {
        Epoch = epoch;
        Loss = loss;
        Terms = terms;
    }

    /// <summary>The epoch (0-based).</summary>
    public int Epoch { get; }

    /// <summary>The mean weighted total loss.</summary>
    public double Loss { get; }

    /// <summary>The mean unweighted term values by name.</summary>
    public IReadOnlyDictionary<string, double> Terms { get; }
}

/// <summary>
/// The summary of a training run. Its properties are init-settable so that a finished run's result can be stored and
/// read back (System.Text.Json), e.g. by a resumable report; the history records deserialise through their constructors.
/// </summary>
public sealed class TrainingResult
{
    /// <summary>Steps completed (including those before a resume).</summary>
    public required int Steps { get; init; }

    /// <summary>Epochs completed.</summary>
    public required int EpochsCompleted { get; init; }

    /// <summary>
    /// True when the run stopped because cancellation was requested. With a checkpoint folder, <c>last.ckpt</c> then
    /// holds the run up to the last finished step (and a validation it still owes), and a rerun resumes from it.
    /// </summary>
    public required bool Cancelled { get; init; }

    /// <summary>True when early stopping ended the run.</summary>
    public required bool StoppedEarly { get; init; }

    /// <summary>True when this run continued from a checkpoint.</summary>
    public required bool Resumed { get; init; }

    /// <summary>The best value of the selection metric, or null without validation.</summary>
    public double? BestMetric { get; init; }

    /// <summary>Epochs completed when the best value was measured, or null.</summary>
    public int? BestEpoch { get; init; }

    /// <summary>Per-epoch mean losses.</summary>
    public required IReadOnlyList<EpochRecord> History { get; init; }

    /// <summary>Validation results in order.</summary>
    public required IReadOnlyList<ValidationRecord> Validations { get; init; }

    /// <summary>Steps skipped because of non-finite values (<see cref="NonFiniteStepPolicy.Skip"/>), over the whole run.</summary>
    public int SkippedSteps { get; init; }

    /// <summary>Wall time of this session of the run.</summary>
    public required TimeSpan Elapsed { get; init; }

    /// <summary>Mean training throughput of this session, student images per second.</summary>
    public required double ImagesPerSecond { get; init; }
}
