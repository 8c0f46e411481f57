using EmbeddingDistillation.Networks;

namespace EmbeddingDistillation.Training;

/// <summary>
/// Fits an embedding network to an objective — a metric loss alone, or a student metric loss plus weighted
/// distillation terms against a frozen teacher — with validation, checkpoints, logging, progress and cancellation.
/// </summary>
public interface ITrainer
{
    /// <summary>Trains <paramref name="network"/> and returns the run's summary.</summary>
    /// <param name="network">The network to train (the teacher, or the student).</param>
    /// <param name="objective">What to minimise.</param>
    /// <param name="data">Training batches, optional unlabelled batches and the validator.</param>
    /// <param name="options">Optimiser, schedule, budget, checkpoints, device.</param>
    /// <param name="progress">Receives one report per step (and per validation).</param>
    /// <param name="cancellationToken">Stops after the current step; the last checkpoint stays valid.</param>
    TrainingResult Fit(
        IEmbeddingNetwork network,
        TrainingObjective objective,
        TrainingData data,
        TrainingOptions options,
        IProgress<TrainingProgress>? progress = null,
        CancellationToken cancellationToken = default);
}
