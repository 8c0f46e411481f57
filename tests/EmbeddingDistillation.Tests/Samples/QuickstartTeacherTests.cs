using System.Globalization;
using EmbeddingDistillation.Evaluation;
using EmbeddingDistillation.Networks;
using EmbeddingDistillation.Samples;
using EmbeddingDistillation.Samples.CommandLine;
using EmbeddingDistillation.Samples.Quickstart;
using EmbeddingDistillation.Samples.Runs;
using EmbeddingDistillation.Tests.Onnx;
using Spectre.Console;
using TorchSharp;

namespace EmbeddingDistillation.Tests.Samples;

/// <summary>
/// The quickstart's teacher options: a frozen teacher (<c>--freeze-teacher</c>) is never trained and teaches from the
/// cache; the ImageNet teacher (<c>--teacher imagenet-resnet18</c>) is refused, naming where it was looked for, when
/// ML.NET's file is absent, and frozen teaches its pooled ImageNet features through the same code path.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class QuickstartTeacherTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "ed-quickstart-teacher-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private static readonly IAnsiConsole Quiet = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(TextWriter.Null) });

    /// <summary>6 training classes x 6 images, 1 epoch each: seconds.</summary>
    private QuickstartOptions Tiny(string report) => new()
    {
        Report = Path.Combine(_root, report), Seed = 3, Device = "cpu", Threads = torch.get_num_threads(),
        Classes = 16, ImagesPerClass = 6, ImageSize = 16, ValidationClasses = 2,
        Teacher = "resnet18", TeacherBaseWidth = 4, TeacherSmallStem = true, Student = "mobilenetv1-0.25", EmbeddingDim = 8,
        Distill = ["relative"], TeacherEpochs = 1, StudentEpochs = 1, StudentWarmupEpochs = 1, ClassesPerBatch = 3, ImagesPerClassInBatch = 2,
        Fast = true,
    };

    private static Dictionary<string, double> RecallAt1(string report) =>
        File.ReadAllLines(Path.Combine(report, "results.csv")).Skip(1).Select(l => l.Split(','))
            .ToDictionary(c => c[0], c => double.Parse(c[2], CultureInfo.InvariantCulture));

    [Fact]
    public void FrozenTrainedTeacherIsNotTrainedAgainAndDistils()
    {
        // A trained teacher: the first run trains only the teacher.
        var first = Tiny("first") with { Baseline = false, Distill = [] };
        new QuickstartRun(first, Quiet, (_, train) => train(null)).Execute(CancellationToken.None);
        var weights = new RunFolder(Path.Combine(first.Report, "checkpoints", "teacher")).FinalWeights;
        Assert.True(File.Exists(weights));

        var frozen = Tiny("frozen") with { FreezeTeacher = true, TeacherWeights = weights };
        var titles = new List<string>();
        new QuickstartRun(frozen, Quiet, (title, train) => { titles.Add(title); return train(null); }).Execute(CancellationToken.None);
        Assert.Equal(["student-baseline", "student-relative"], titles);           // no teacher run
        Assert.False(Directory.Exists(Path.Combine(frozen.Report, "checkpoints", "teacher")));
        // The teacher evaluated after distillation is the one the first run saved, unchanged.
        Assert.Equal(RecallAt1(first.Report)["teacher"], RecallAt1(frozen.Report)["teacher"]);
        Assert.Contains("student-relative", RecallAt1(frozen.Report).Keys);
    }

    [Fact]
    public void ImageNetTeacherWithoutItsFileIsRefusedNamingWhereItLooked()
    {
        if (File.Exists(Path.Combine(AppContext.BaseDirectory, ImageNetResNet18.OutputModelPath))) return; // the output folder has it: nothing to refuse
        string empty = Directory.CreateDirectory(Path.Combine(_root, "empty-nuget-cache")).FullName;
        string? saved = Environment.GetEnvironmentVariable("NUGET_PACKAGES");
        try
        {
            Environment.SetEnvironmentVariable("NUGET_PACKAGES", empty);
            string report = Path.Combine(_root, "refused");
            var (code, _, error) = SampleRun.Run<QuickstartCommand>(QuickstartCommand.Info, "--teacher", "imagenet-resnet18", "--report", report);
            Assert.Equal(ExitCodes.UsageError, code);
            Assert.Contains("--teacher imagenet-resnet18", error);
            Assert.Contains(empty, error);
            Assert.Contains(ImageNetResNet18.PackageId, error);
            Assert.Contains("--imagenet-model", error);
            Assert.False(Directory.Exists(report));
        }
        finally
        {
            Environment.SetEnvironmentVariable("NUGET_PACKAGES", saved);
        }
    }

    [ImageNetResNet18Fact]
    public void FrozenImageNetTeacherTeachesItsPooledFeatures()
    {
        var o = Tiny("imagenet") with
        {
            Teacher = ImageNetTeacherOption.Name, TeacherBaseWidth = 64, TeacherSmallStem = false, FreezeTeacher = true,
            ImageNetModel = ImageNetResNet18Files.ModelPath, TeacherImageSize = 32, EmbeddingDim = 512, Distill = ["absolute"], Baseline = false,
        };
        var titles = new List<string>();
        new QuickstartRun(o, Quiet, (title, train) => { titles.Add(title); return train(null); }).Execute(CancellationToken.None);
        Assert.Equal(["student-absolute"], titles);

        // The teacher's row is that of the untouched ImageNet network: ML.NET's features of the 32-px resized images.
        var setup = QuickstartSetup.Create(o);
        var teacher = setup.CreateTeacher();
        var resized = Assert.IsType<ResizedInputNetwork>(teacher);
        Assert.Equal("resnet18-cntk-512@32", resized.Name);
        Assert.Equal(512, resized.EmbeddingDimension);
        using var extracted = EmbeddingExtractor.Extract(teacher, setup.Test);
        var metrics = RetrievalMetrics.Evaluate(extracted.Embeddings, extracted.Labels, RecallPresets.Quickstart);
        Assert.Equal(metrics.RecallAtK[1], RecallAt1(o.Report)["teacher"], 5);
        Assert.True(metrics.RecallAtK[1] > 0);
    }
}
