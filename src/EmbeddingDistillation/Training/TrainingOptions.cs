using Microsoft.Extensions.Logging;

namespace EmbeddingDistillation.Training;

/// <summary>The optimiser a run uses.</summary>
public enum OptimizerKind
{
    /// <summary>Adam with L2 weight decay added to the gradient (the paper: lr 1e-5, weight decay 2e-4).</summary>
    Adam,
    /// <summary>AdamW with decoupled weight decay.</summary>
    AdamW,
    /// <summary>SGD with momentum.</summary>
    Sgd,
}

/// <summary>The learning-rate schedule over the run's steps (after the optional linear warm-up).</summary>
public enum LearningRateSchedule
{
    /// <summary>Constant learning rate (the paper).</summary>
    Constant,
    /// <summary>Cosine decay from the base rate to <see cref="TrainingOptions.FinalLearningRateFraction"/> of it.</summary>
    Cosine,
    /// <summary>Multiply by <see cref="TrainingOptions.StepGamma"/> every <see cref="TrainingOptions.StepEpochs"/> epochs.</summary>
    Step,
}

/// <summary>What the frozen teacher sees.</summary>
public enum TeacherView
{
    /// <summary>The student's (augmented) batch, as in the paper's code.</summary>
    SameAsStudent,
    /// <summary>The deterministic, un-augmented view of the same samples: its outputs can be cached.</summary>
    Clean,
}

/// <summary>What the trainer does with a step whose embeddings, loss terms or gradients are not finite.</summary>
public enum NonFiniteStepPolicy
{
    /// <summary>Stop the run with a <see cref="NonFiniteTrainingException"/> naming the step and where (default).</summary>
    Stop,
    /// <summary>
    /// Skip the step, as mixed-precision gradient scalers do: the optimiser does not step and the batch-norm
    /// statistics the step's forward pass changed are restored; the run counts and logs it
    /// (<see cref="TrainingResult.SkippedSteps"/>) and stops after <see cref="TrainingOptions.MaxConsecutiveSkippedSteps"/>
    /// skipped steps in a row.
    /// </summary>
    Skip,
}

/// <summary>Options of a training run. Defaults are the paper's where the paper fixes them.</summary>
public sealed record TrainingOptions
{
    /// <summary>Number of epochs (default 10). An epoch is the sampler's batch list (plus unlabelled batches).</summary>
    public int Epochs { get; init; } = 10;

    /// <summary>Optional budget of optimisation steps; the run stops when either budget ends. Null for none.</summary>
    public int? MaxSteps { get; init; }

    /// <summary>The optimiser (default Adam, the paper's).</summary>
    public OptimizerKind Optimizer { get; init; } = OptimizerKind.Adam;

    /// <summary>The base learning rate (default 1e-5, the paper's).</summary>
    public double LearningRate { get; init; } = 1e-5;

    /// <summary>Weight decay (default 2e-4, the paper's). Note TorchSharp's own AdamW default is 0.</summary>
    public double WeightDecay { get; init; } = 2e-4;

    /// <summary>SGD momentum (default 0.9); ignored by Adam and AdamW.</summary>
    public double Momentum { get; init; } = 0.9;

    /// <summary>Learning-rate multiplier of the embedding head's parameters (default 1).</summary>
    public double HeadLearningRateMultiplier { get; init; } = 1.0;

    /// <summary>Parameter-name prefix that identifies the head (default <c>head.</c>).</summary>
    public string HeadParameterPrefix { get; init; } = "head.";

    /// <summary>Learning-rate multiplier of the losses' learnable parameters: proxies, hint regressors (default 1).</summary>
    public double LossParameterLearningRateMultiplier { get; init; } = 1.0;

    /// <summary>The schedule after warm-up (default constant).</summary>
    public LearningRateSchedule Schedule { get; init; } = LearningRateSchedule.Constant;

    /// <summary>Linear warm-up steps from 0 to the base rate (default 0).</summary>
    public int WarmupSteps { get; init; }

    /// <summary>Cosine schedule: final rate as a fraction of the base rate (default 0.01).</summary>
    public double FinalLearningRateFraction { get; init; } = 0.01;

    /// <summary>Step schedule: epochs between decays (default 10).</summary>
    public int StepEpochs { get; init; } = 10;

    /// <summary>Step schedule: decay factor (default 0.1).</summary>
    public double StepGamma { get; init; } = 0.1;

    /// <summary>Clip the global gradient L2 norm to this value; null (default) for no clipping.</summary>
    public double? GradientClipNorm { get; init; }

    /// <summary>Seed of the run: torch's generator and every batch's augmentation seed derive from it (default 0).</summary>
    public int Seed { get; init; }

    /// <summary>
    /// Device to train on: <c>cpu</c>, <c>cuda</c>, <c>cuda:1</c>, or <c>auto</c> (cuda when available). Null (default)
    /// keeps the network where it is.
    /// </summary>
    public string? Device { get; init; }

    /// <summary>What the teacher sees (default: the student's batch, as in the paper).</summary>
    public TeacherView TeacherView { get; init; } = TeacherView.SameAsStudent;

    /// <summary>
    /// Cache the teacher's outputs per sample when its inputs are deterministic (<see cref="TeacherView.Clean"/>): its
    /// embeddings on the training device and, for terms that read taps (hint, attention), its feature maps in host
    /// memory (<see cref="TeacherCacheMaxMapBytes"/>). Default true.
    /// </summary>
    public bool CacheTeacherOutputs { get; init; } = true;

    /// <summary>
    /// The host memory the cached teacher feature maps of all training images may take (default 2 GiB). Known after
    /// the first batch; above it nothing is cached and the teacher runs at every step (a warning says so).
    /// </summary>
    public long TeacherCacheMaxMapBytes { get; init; } = 2L << 30;

    /// <summary>Cache the teacher's feature maps in float16 (half the memory; the terms read them converted back). Default false.</summary>
    public bool TeacherCacheHalfPrecisionMaps { get; init; }

    /// <summary>Validate every this many epochs (default 1); needs <see cref="TrainingData.Validator"/>.</summary>
    public int ValidateEveryEpochs { get; init; } = 1;

    /// <summary>The validation metric that selects the best checkpoint (default <c>recall@1</c>; higher is better).</summary>
    public string SelectionMetric { get; init; } = "recall@1";

    /// <summary>Stop after this many validations without improvement; null (default) never stops early.</summary>
    public int? EarlyStoppingPatience { get; init; }

    /// <summary>
    /// Folder for <c>last.ckpt</c> (network, optimiser, loss parameters, schedule position, RNG) and
    /// <c>best.ckpt</c> (the best network by <see cref="SelectionMetric"/>); null (default) for none.
    /// </summary>
    public string? CheckpointDirectory { get; init; }

    /// <summary>Resume from <c>last.ckpt</c> in <see cref="CheckpointDirectory"/> when it exists (default true).</summary>
    public bool Resume { get; init; } = true;

    /// <summary>Save <c>last.ckpt</c> every this many steps as well as at every epoch end (default 0: epoch ends only).</summary>
    public int CheckpointEverySteps { get; init; }

    /// <summary>
    /// After training, load the best validated weights into the network (default true when validating): from
    /// <c>best.weights</c> in the checkpoint folder, or from a copy kept in memory when there is none, so the selected
    /// network never depends on whether checkpoints were written.
    /// </summary>
    public bool RestoreBestAtEnd { get; init; } = true;

    /// <summary>
    /// Average the network's weights over the run (Polyak averaging): an exponential moving average of the parameters
    /// and batch-norm statistics with this decay per step (e.g. 0.99: about the last 100 steps), updated after every
    /// optimiser step. Validation, best-checkpoint selection and the network the run returns use the average, and
    /// checkpoints carry it so that a resumed run continues it. Null (default): no averaging, the last weights.
    /// </summary>
    public double? WeightAverageDecay { get; init; }

    /// <summary>The run's name in logs and errors (default: the network's name).</summary>
    public string? RunName { get; init; }

    /// <summary>
    /// What a step with NaN or infinite embeddings, loss terms or gradients does (default
    /// <see cref="NonFiniteStepPolicy.Stop"/>: the run stops with a <see cref="NonFiniteTrainingException"/>).
    /// </summary>
    public NonFiniteStepPolicy NonFiniteSteps { get; init; } = NonFiniteStepPolicy.Stop;

    /// <summary>With <see cref="NonFiniteStepPolicy.Skip"/>: stop anyway after this many skipped steps in a row (default 20).</summary>
    public int MaxConsecutiveSkippedSteps { get; init; } = 20;

    /// <summary>
    /// Keep the native heap's freed memory in the process for the next step (default true): on Linux with glibc the
    /// trainer sets <c>mallopt(M_MMAP_MAX, 0)</c> and <c>mallopt(M_TRIM_THRESHOLD, -1)</c> once per process, so
    /// libtorch's large CPU tensors are reused instead of being unmapped and page-faulted in again at every step
    /// (about 10x faster steps at 224 px on a small VM). The process then keeps its peak native memory until it exits.
    /// Set false to leave the C heap's settings alone. No effect on other platforms.
    /// </summary>
    public bool ReuseNativeMemory { get; init; } = true;

    /// <summary>Logger factory for the trainer's logs; null for none.</summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    internal void Validate()
    {
        if (Epochs < 1) throw new ArgumentOutOfRangeException(nameof(Epochs), Epochs, "Epochs must be >= 1.");
        if (MaxSteps is < 1) throw new ArgumentOutOfRangeException(nameof(MaxSteps), MaxSteps, "MaxSteps must be >= 1 when set.");
        if (!(LearningRate > 0)) throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "LearningRate must be > 0.");
        if (WeightDecay < 0) throw new ArgumentOutOfRangeException(nameof(WeightDecay), WeightDecay, "WeightDecay must be >= 0.");
        if (WarmupSteps < 0) throw new ArgumentOutOfRangeException(nameof(WarmupSteps), WarmupSteps, "WarmupSteps must be >= 0.");
        if (TeacherCacheMaxMapBytes < 0) throw new ArgumentOutOfRangeException(nameof(TeacherCacheMaxMapBytes), TeacherCacheMaxMapBytes, "TeacherCacheMaxMapBytes must be >= 0.");
        if (ValidateEveryEpochs < 1) throw new ArgumentOutOfRangeException(nameof(ValidateEveryEpochs), ValidateEveryEpochs, "ValidateEveryEpochs must be >= 1.");
        if (GradientClipNorm is <= 0) throw new ArgumentOutOfRangeException(nameof(GradientClipNorm), GradientClipNorm, "GradientClipNorm must be > 0 when set.");
        if (EarlyStoppingPatience is < 1) throw new ArgumentOutOfRangeException(nameof(EarlyStoppingPatience), EarlyStoppingPatience, "EarlyStoppingPatience must be >= 1 when set.");
        if (StepEpochs < 1) throw new ArgumentOutOfRangeException(nameof(StepEpochs), StepEpochs, "StepEpochs must be >= 1.");
        if (MaxConsecutiveSkippedSteps < 1) throw new ArgumentOutOfRangeException(nameof(MaxConsecutiveSkippedSteps), MaxConsecutiveSkippedSteps, "MaxConsecutiveSkippedSteps must be >= 1.");
        if (!Enum.IsDefined(NonFiniteSteps)) throw new ArgumentOutOfRangeException(nameof(NonFiniteSteps), NonFiniteSteps, "Unknown NonFiniteStepPolicy.");
        if (WeightAverageDecay is double d && !(d > 0 && d < 1)) throw new ArgumentOutOfRangeException(nameof(WeightAverageDecay), WeightAverageDecay, "WeightAverageDecay must be in (0, 1) when set.");
        if (CheckpointEverySteps < 0) throw new ArgumentOutOfRangeException(nameof(CheckpointEverySteps), CheckpointEverySteps, "CheckpointEverySteps must be >= 0.");
    }
}
