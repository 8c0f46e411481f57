using System.Diagnostics;
using System.Globalization;
using EmbeddingDistillation.Data;
using EmbeddingDistillation.Networks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Training;

/// <summary>
/// The library's <see cref="ITrainer"/>: one optimisation step per batch, every step's tensors in a dispose scope,
/// a frozen teacher (eval mode, no gradient), validation with best-checkpoint selection and early stopping, atomic
/// checkpoints that resume exactly (all randomness derives from the seed, the epoch and the step), cancellation
/// after the current step, and a run that stops loudly (or skips the step) at the first non-finite embedding, loss
/// term or gradient. The run itself is <see cref="TrainingRun"/>.
/// </summary>
public sealed class Trainer : ITrainer
{
    /// <summary>File name of the resumable checkpoint in the checkpoint folder.</summary>
    public const string LastCheckpointFile = "last.ckpt";

    /// <summary>File name of the best network weights (TorchSharp format) in the checkpoint folder.</summary>
    public const string BestWeightsFile = "best.weights";

    /// <inheritdoc />
    public TrainingResult Fit(
        IEmbeddingNetwork network,
        TrainingObjective objective,
        TrainingData data,
        TrainingOptions options,
        IProgress<TrainingProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(objective);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        ValidateData(data, objective);
        if (ReferenceEquals(objective.Teacher, network))
            throw new ArgumentException("The teacher and the trained network must be different networks.", nameof(objective));
        Primitives.TorchRuntime.EnsureConfigured();
        if (options.ReuseNativeMemory) Primitives.NativeHeap.KeepFreedMemory();

        using var run = new TrainingRun(network, objective, data, options, progress);
        run.Train(cancellationToken);
        return run.Finish();
    }

    private static void ValidateData(TrainingData data, TrainingObjective objective)
    {
        ArgumentNullException.ThrowIfNull(data.Train, nameof(data.Train));
        ArgumentNullException.ThrowIfNull(data.Sampler, nameof(data.Sampler));
        if (data.Sampler.BatchesPerEpoch < 1)
            throw new ArgumentException("The sampler yields no batch per epoch (too few images for one batch?).", nameof(data));
        if (data.Unlabelled is not null)
        {
            if (data.UnlabelledSampler is null)
                throw new ArgumentException("TrainingData.Unlabelled is set but TrainingData.UnlabelledSampler is not.", nameof(data));
            if (objective.DistillationTerms.Count == 0)
                throw new ArgumentException("Unlabelled batches carry only distillation terms, but the objective has none.", nameof(data));
            if (!(data.UnlabelledRatio > 0))
                throw new ArgumentOutOfRangeException(nameof(data), data.UnlabelledRatio, "TrainingData.UnlabelledRatio must be > 0.");
        }
    }

    /// <summary>A deterministic per-step seed (SplitMix64 of seed, epoch and step): the same on every machine and process.</summary>
    internal static int StepSeed(int seed, int epoch, int step)
    {
        ulong z = unchecked((ulong)seed * 0x9E3779B97F4A7C15UL + (ulong)epoch * 0xBF58476D1CE4E5B9UL + (ulong)step * 0x94D049BB133111EBUL + 1);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (int)(z & 0x7FFFFFFF);
    }
}
