using EmbeddingDistillation.Training;

namespace EmbeddingDistillation.Samples.Runs;

/// <summary>
/// Runs one training run: calls <paramref name="train"/> with a progress sink (or null) and returns its result.
/// The console samples pass <see cref="ConsoleProgress.Runner"/> (a progress bar); tests pass their own, e.g. one
/// that cancels after some steps.
/// </summary>
/// <param name="title">The run's name.</param>
/// <param name="train">Trains and returns the result.</param>
public delegate TrainingResult TrainingRunner(string title, Func<IProgress<TrainingProgress>?, TrainingResult> train);
