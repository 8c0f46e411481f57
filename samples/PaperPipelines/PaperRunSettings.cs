using EmbeddingDistillation.Samples.Runs;

namespace EmbeddingDistillation.Samples.PaperPipelines;

/// <summary>What <c>--resume</c> compares for the paper pipeline, by command-line option name.</summary>
internal static class PaperRunSettings
{
    /// <summary>
    /// Every option that changes the results; the device, thread count, evaluation batch and dataset root change at
    /// most their last bits (or the location of the same data) and only warn.
    /// </summary>
    public static RunSettings RunSettings(this PaperPipelineOptions o)
    {
        // Checkpoints change nothing in the results: the trainer restores the best epoch with or without them.
        return Settings(o);
    }

    // --recipe is recorded as the recipe it resolves to: "auto" that picked scratch resumes with "--recipe scratch" too.
    private static RunSettings Settings(PaperPipelineOptions o) => new RunSettings { Sample = "paper-pipelines" }
        .With("--dataset", o.Dataset.ToString().ToLowerInvariant()).With("--seed", o.Seed)
        .With("--recipe", PaperRunPlan.Resolve(o, PaperPreset.For(o.Dataset)).Recipe.Name)
        .With("--image-size", o.ImageSize).With("--epochs", o.Epochs).With("--teacher-epochs", o.TeacherEpochs)
        .With("--max-steps", o.MaxSteps).With("--batches-per-epoch", o.BatchesPerEpoch)
        .With("--teacher", o.Teacher).With("--student", o.Students).With("--embedding-dim", o.EmbeddingDimension)
        .With("--base-width", o.BaseWidth).With("--small-stem", o.SmallStem?.ToString() ?? "auto")
        .With("--teacher-weights", o.TeacherWeights).With("--freeze-teacher", o.FreezeTeacher).With("--teacher-image-size", o.TeacherImageSize).With("--student-weights", o.StudentWeights).With("--teacher-checkpoint", o.TeacherCheckpoint)
        .With("--methods", o.Methods).With("--lr", o.LearningRate).With("--teacher-lr", o.TeacherLearningRate)
        .With("--distilled-metric-weights", o.DistilledMetricWeights is null ? null : PaperSettings.FormatMetricWeights(o.DistilledMetricWeights))
        .With("--lambda-absolute", o.AbsoluteWeight).With("--lambda-relative", o.RelativeWeight)
        .With("--hint-weight", o.HintWeight).With("--attention-weight", o.AttentionWeight).With("--feature-taps", o.FeatureTaps)
        .With("--unlabelled", o.Unlabelled).With("--unlabelled-ratio", o.UnlabelledRatio)
        .With("--cross-quality", o.CrossQuality).With("--lq-downscale", o.LowQuality.DownscaleFactor).With("--lq-jpeg", o.LowQuality.JpegQuality?.ToString() ?? "none")
        .With("--sop-queries", o.SopQueries).With("--max-classes", o.MaxClasses).With("--max-images-per-class", o.MaxImagesPerClass)
        .With("--validation-fraction", o.ValidationFraction).With("--skip-corrupt-images", o.SkipCorruptImages)
        .WithEnvironment("--root", Path.GetFullPath(o.Root)).WithEnvironment("--device", o.Device).WithEnvironment("--imagenet-model", o.ImageNetModel).WithEnvironment("--no-teacher-cache", !o.TeacherCache)
        .WithEnvironment("--threads", o.Threads?.ToString() ?? "all").WithEnvironment("--eval-batch", o.EvaluationBatchSize);
}
