using Microsoft.Extensions.Logging;

namespace EmbeddingDistillation.Training;

/// <summary>The trainer's log messages (source-generated, allocation-free when the level is off).</summary>
internal static partial class TrainerLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Training {Network} for {Epochs} epochs ({TotalSteps} steps) on {Device}; objective: {Objective}")]
    public static partial void Started(ILogger logger, string network, int epochs, int totalSteps, string device, string objective);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Resumed from {Path} at epoch {Epoch}, step {Step}")]
    public static partial void Resumed(ILogger logger, string path, int epoch, int step);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "Epoch {Epoch}/{Epochs}: loss {Loss:F4} ({Terms}), {ImagesPerSecond:F0} images/s")]
    public static partial void EpochEnded(ILogger logger, int epoch, int epochs, double loss, string terms, double imagesPerSecond);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "Validation after epoch {Epoch}: {Metrics}{Best}")]
    public static partial void Validated(ILogger logger, int epoch, string metrics, string best);

    [LoggerMessage(EventId = 5, Level = LogLevel.Information, Message = "Early stopping after epoch {Epoch}: no improvement of {Metric} in {Patience} validations")]
    public static partial void EarlyStop(ILogger logger, int epoch, string metric, int patience);

    [LoggerMessage(EventId = 6, Level = LogLevel.Warning, Message = "Training cancelled at step {Step}; checkpoint {Path} is valid")]
    public static partial void Cancelled(ILogger logger, int step, string path);

    [LoggerMessage(EventId = 7, Level = LogLevel.Information, Message = "Teacher embeddings cached for {Count} samples ({Dimension}-d)")]
    public static partial void TeacherCacheFilled(ILogger logger, int count, int dimension);

    [LoggerMessage(EventId = 11, Level = LogLevel.Warning, Message = "{Run}: the teacher's feature maps of every training image would take {NeededMiB:F0} MiB, more than TeacherCacheMaxMapBytes ({BudgetMiB:F0} MiB): the teacher runs at every step instead (set TeacherCacheHalfPrecisionMaps or raise the budget to cache them)")]
    public static partial void TeacherCacheOverBudget(ILogger logger, string run, double neededMiB, double budgetMiB);

    [LoggerMessage(EventId = 9, Level = LogLevel.Warning, Message = "{Run}: skipped step {Step} (epoch {Epoch}): {Where} not finite; {Skipped} step(s) skipped so far")]
    public static partial void SkippedStep(ILogger logger, string run, int step, int epoch, string where, int skipped);

    [LoggerMessage(EventId = 10, Level = LogLevel.Warning, Message = "Training cancelled after epoch {Epoch}, before its validation; checkpoint {Path} holds it and a resume validates first")]
    public static partial void CancelledBeforeValidation(ILogger logger, int epoch, string path);

    [LoggerMessage(EventId = 8, Level = LogLevel.Information, Message = "Restored the best weights (epoch {Epoch}, {Metric} = {Value:F4})")]
    public static partial void RestoredBest(ILogger logger, int epoch, string metric, double value);
}
