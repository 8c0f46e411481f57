using EmbeddingDistillation.Evaluation;
using EmbeddingDistillation.Training;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Samples;

/// <summary>The collapse warning a sample prints (and puts into results.md) after each run.</summary>
public static class CollapseWarnings
{
    /// <summary>
    /// Checks a run on its best validation (chance level and spread as the validator measured them), or, when the run
    /// had no validation classes, on the test embeddings. Returns the warning, or null when the run looks healthy.
    /// </summary>
    /// <param name="run">The run's name.</param>
    /// <param name="training">Its training result (null when it was loaded, not trained).</param>
    /// <param name="testEmbeddings">The test embeddings [N, D].</param>
    /// <param name="testLabels">The test labels [N].</param>
    /// <param name="testRecallAtOne">The test Recall@1.</param>
    public static string? Check(string run, TrainingResult? training, Tensor testEmbeddings, Tensor testLabels, double testRecallAtOne)
    {
        var best = training?.Validations.LastOrDefault(v => v.Epoch == training.BestEpoch) ?? training?.Validations.LastOrDefault();
        if (best is not null && CollapseCheck.FromMetrics(best.Metrics) is { } onValidation)
            return onValidation.Warning(run, $"validation classes (epoch {best.Epoch})");
        return CollapseCheck.Measure(testEmbeddings, testLabels, testRecallAtOne).Warning(run, "test classes");
    }
}
