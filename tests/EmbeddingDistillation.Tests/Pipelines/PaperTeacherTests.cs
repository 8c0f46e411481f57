using EmbeddingDistillation.Evaluation;
using EmbeddingDistillation.Networks;
using EmbeddingDistillation.Samples;
using EmbeddingDistillation.Samples.CommandLine;
using EmbeddingDistillation.Samples.PaperPipelines;
using EmbeddingDistillation.Tests.Onnx;
using EmbeddingDistillation.Tests.Samples;

namespace EmbeddingDistillation.Tests.Pipelines;

/// <summary>
/// The pipeline's teacher options: a frozen teacher (<c>--freeze-teacher</c>) is never trained, the ImageNet teacher
/// counts as ImageNet weights for <c>--recipe auto</c>, and frozen it teaches its pooled ImageNet features (the
/// last test runs when ML.NET's package is in the NuGet cache).
/// </summary>
public sealed class PaperTeacherTests
{
    private static string[] Args(PaperFixture f, string report, params string[] extra) =>
    [
        "--dataset", "cub", "--root", f.Cub, "--report", report, "--image-size", "32", "--student", "mobilenetv1-0.25",
        "--base-width", "4", "--epochs", "1", "--batches-per-epoch", "2", "--device", "cpu", "--latency-iterations", "2", "--eval-batch", "32", .. extra,
    ];

    private static double TeacherRecall(PaperPipelineResult result) => result.Runs.Single(r => r.Result.Role == ModelRole.Teacher).Result.RecallAtK[1];

    [Fact]
    public void FrozenTrainedTeacherIsNotTrainedAgainAndDistils()
    {
        using var f = new PaperFixture();
        string weights = Path.Combine(f.Root, "teacher.weights");
        var first = new PaperPipeline(PaperArgumentsTests.Parse(Args(f, Path.Combine(f.Root, "first"), "--teacher", "resnet18", "--embedding-dim", "16",
            "--methods", "baseline", "--teacher-checkpoint", weights))).Run();
        Assert.True(File.Exists(weights));

        var titles = new List<string>();
        var frozen = new PaperPipeline(PaperArgumentsTests.Parse(Args(f, Path.Combine(f.Root, "frozen"), "--teacher", "resnet18", "--embedding-dim", "16",
            "--methods", "relative", "--teacher-checkpoint", weights, "--freeze-teacher")), runner: (title, train) => { titles.Add(title); return train(null); }).Run();
        Assert.Equal(["mobilenetv1-0.25-16-relative"], titles);             // no teacher run
        Assert.Equal(TeacherRecall(first), TeacherRecall(frozen));
    }

    [Fact]
    public void ImageNetTeacherCountsAsImageNetWeightsForTheAutoRecipe()
    {
        using var f = new PaperFixture();
        var withStudentWeights = PaperArgumentsTests.Parse("--dataset", "cub", "--root", f.Cub, "--teacher", "imagenet-resnet18", "--imagenet-model", f.Cub + "/images.txt",
            "--student", "mobilenetv1-0.25", "--student-weights", f.Cub + "/classes.txt");
        var plan = PaperRunPlan.Resolve(withStudentWeights, PaperPreset.For(PaperDataset.Cub));
        Assert.Equal("paper", plan.Recipe.Name);
        Assert.Empty(plan.WithoutImageNetWeights);
        var scratchStudents = PaperRunPlan.Resolve(withStudentWeights with { StudentWeights = null }, PaperPreset.For(PaperDataset.Cub));
        Assert.Equal("scratch", scratchStudents.Recipe.Name);
        Assert.Equal(["mobilenetv1-0.25"], scratchStudents.WithoutImageNetWeights);
    }

    [Fact]
    public void FrozenImageNetTeacherWithTheAbsoluteTermNeedsTheFeatureDimension()
    {
        using var f = new PaperFixture();
        string model = Path.Combine(f.Root, "ResNet18.onnx");
        File.WriteAllText(model, "not read before the run");
        var (code, _, error) = SampleRun.Run<PaperCommand>(PaperCommand.Info,
            "--dataset", "cub", "--root", f.Cub, "--report", f.Report, "--teacher", "imagenet-resnet18", "--imagenet-model", model, "--freeze-teacher", "--methods", "baseline,absolute");
        Assert.Equal(ExitCodes.UsageError, code);
        Assert.Contains("--methods absolute", error);
        Assert.Contains("--embedding-dim 512", error);
        Assert.False(Directory.Exists(f.Report));
    }

    [ImageNetResNet18Fact]
    public void FrozenImageNetTeacherTeachesItsPooledFeatures()
    {
        using var f = new PaperFixture();
        var titles = new List<string>();
        var result = new PaperPipeline(PaperArgumentsTests.Parse(Args(f, f.Report, "--teacher", "imagenet-resnet18", "--imagenet-model", ImageNetResNet18Files.ModelPath!,
            "--freeze-teacher", "--teacher-image-size", "48", "--embedding-dim", "512", "--methods", "absolute")),
            runner: (title, train) => { titles.Add(title); return train(null); }).Run();
        Assert.Equal(["mobilenetv1-0.25-512-absolute"], titles);
        var teacherRun = result.Runs.Single(r => r.Result.Role == ModelRole.Teacher);
        Assert.Equal("teacher-resnet18-cntk-512@48", teacherRun.Name);
        Assert.Null(teacherRun.Training);
        Assert.Contains("| teacher-resnet18-cntk-512@48 | frozen |", File.ReadAllText(Path.Combine(f.Report, "results.md")));
        Assert.True(TeacherRecall(result) > 0);
    }
}
