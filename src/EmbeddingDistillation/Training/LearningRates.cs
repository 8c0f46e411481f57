namespace EmbeddingDistillation.Training;

/// <summary>
/// The learning-rate factor as a pure function of the step, so that a resumed run continues on exactly the same
/// schedule (nothing about the schedule needs to be stored but the step).
/// </summary>
internal static class LearningRates
{
    /// <summary>The factor (multiplying the base rate) of step <paramref name="step"/> (0-based).</summary>
    public static double Factor(TrainingOptions options, int step, int totalSteps, int stepsPerEpoch)
    {
        if (options.WarmupSteps > 0 && step < options.WarmupSteps)
            return (step + 1) / (double)options.WarmupSteps;
        switch (options.Schedule)
        {
            case LearningRateSchedule.Cosine:
                {
                    int span = Math.Max(1, totalSteps - options.WarmupSteps);
                    double t = Math.Clamp((step - options.WarmupSteps) / (double)span, 0, 1);
                    double end = options.FinalLearningRateFraction;
                    return end + (1 - end) * 0.5 * (1 + Math.Cos(Math.PI * t));
                }
            case LearningRateSchedule.Step:
                {
                    int epoch = step / Math.Max(1, stepsPerEpoch);
                    return Math.Pow(options.StepGamma, epoch / options.StepEpochs);
                }
            default:
                return 1.0;
        }
    }
}
