using EmbeddingDistillation.Samples.CommandLine;
using EmbeddingDistillation.Samples.PaperPipelines;
using EmbeddingDistillation.Samples.Runs;
using EmbeddingDistillation.Tests.Pipelines;

namespace EmbeddingDistillation.Tests.Samples;

/// <summary>The paper pipelines refuse bad command lines with exit code 2 before reading any data.</summary>
public sealed class PaperCommandLineTests : IDisposable
{
    private readonly string _root = Directory.CreateDirectory(SampleRun.NewPath("ed-paper-cli")).FullName;

    private string Report => Path.Combine(_root, "report");

    [Fact]
    public void NoArgumentsPrintTheUsageAndExitWithTheUsageCode()
    {
        var (code, output, _) = SampleRun.Run<PaperCommand>(PaperCommand.Info);
        Assert.Equal(ExitCodes.UsageError, code);
        Assert.Contains("--dataset", output);
        Assert.Contains("--skip-corrupt-images", output);
    }

    [Theory]
    [InlineData("--epochs 0", "--epochs", "0")]
    [InlineData("--image-size 4", "--image-size", "4")]
    [InlineData("--teacher resnet999", "--teacher", "resnet999")]
    [InlineData("--lambda-relative nan", "--lambda-relative", "NaN")]
    [InlineData("--methods baseline,hints", "--methods", "hints")]
    [InlineData("--device tpu", "--device", "tpu")]
    [InlineData("--threads 0", "--threads", "0")]
    [InlineData("--lq-downscale 0.5", "--lq-downscale", "0.5")]
    [InlineData("--freeze-teacher", "--freeze-teacher", "--teacher-checkpoint")]
    [InlineData("--teacher-image-size 96", "--teacher-image-size", "imagenet-resnet18")]
    [InlineData("--imagenet-model /no/such/ResNet18.onnx", "--imagenet-model", "/no/such/ResNet18.onnx")]
    [InlineData("--teacher imagenet-resnet18 --teacher-image-size 4", "--teacher-image-size", "4")]
    [InlineData("--teacher imagenet-resnet18 --teacher-weights /no/such/resnet18.pth", "--teacher-weights", "imagenet-resnet18")]
    [InlineData("--teacher imagenet-resnet18 --teacher-image-size 96 --methods baseline,attention", "--teacher-image-size", "attention")]
    [InlineData("--teacher imagenet-resnet18 --freeze-teacher --teacher-checkpoint teacher.weights", "--freeze-teacher", "--teacher-checkpoint")]
    public void BadValuesAreRefusedWithTheUsageExitCodeBeforeAnyWork(string args, string option, string value)
    {
        var (code, _, error) = SampleRun.Run<PaperCommand>(PaperCommand.Info, ["--dataset", "cub", "--root", _root, "--report", Report, .. args.Split(' ')]);
        Assert.Equal(ExitCodes.UsageError, code);
        Assert.Contains(option, error);
        Assert.Contains(value, error);
        Assert.DoesNotContain(" at ", error);
        Assert.False(Directory.Exists(Report));
    }

    [Fact]
    public void ResumeWithAnotherSeedIsRefusedNamingTheOptionAndBothValues()
    {
        string[] first = ["--dataset", "cub", "--root", _root, "--report", Report, "--seed", "1"];
        PaperArgumentsTests.Parse(first).RunSettings().Write(Directory.CreateDirectory(Report).FullName);

        var (code, _, error) = SampleRun.Run<PaperCommand>(PaperCommand.Info,
            "--dataset", "cub", "--root", _root, "--report", Report, "--seed", "2", "--resume");
        Assert.Equal(ExitCodes.UsageError, code);
        Assert.Contains("--seed: '1' in the report, '2' now", error);
        Assert.Equal([RunSettings.FileName], Directory.EnumerateFileSystemEntries(Report).Select(Path.GetFileName));

        // The same settings resume (here the empty --root then fails as a runtime error: exit 1, not 2).
        var same = SampleRun.Run<PaperCommand>(PaperCommand.Info, [.. first, "--resume"]);
        Assert.Equal(ExitCodes.RuntimeFailure, same.ExitCode);
        Assert.Contains("annotation file not found", same.Error);
    }

    [Fact]
    public void ResumeWithAnotherRecipeIsRefusedAndAutoResumesTheRecipeItPicked()
    {
        string[] first = ["--dataset", "cub", "--root", _root, "--report", Report, "--recipe", "scratch"];
        PaperArgumentsTests.Parse(first).RunSettings().Write(Directory.CreateDirectory(Report).FullName);

        var (code, _, error) = SampleRun.Run<PaperCommand>(PaperCommand.Info, [.. first[..^1], "paper", "--resume"]);
        Assert.Equal(ExitCodes.UsageError, code);
        Assert.Contains("--recipe: 'scratch' in the report, 'paper' now", error);

        // Without weights, auto picks scratch: the same run, so it resumes (and then fails on the empty --root: exit 1).
        var auto = SampleRun.Run<PaperCommand>(PaperCommand.Info, [.. first[..^2], "--resume"]);
        Assert.Equal(ExitCodes.RuntimeFailure, auto.ExitCode);
        Assert.Contains("annotation file not found", auto.Error);
    }

    [Fact]
    public void MakeSyntheticCubWritesAFolderThePipelineReadsAndNeverOverwritesOne()
    {
        string dir = Path.Combine(_root, "synthetic-cub");
        string[] args = ["--make-synthetic-cub", dir, "--synthetic-classes", "4", "--synthetic-images-per-class", "3", "--synthetic-size", "16", "--seed", "2"];
        var output = new StringWriter();
        Assert.Equal(ExitCodes.Success, SyntheticCubMaker.Run(SampleApp.Parse<PaperSettings>(args), output));
        Assert.Contains("4 classes x 3 JPEGs of 16 px (2 training classes, ids 1-2; 2 test classes, ids 101-102)", output.ToString());
        var layout = EmbeddingDistillation.Vision.Cub200.Read(dir);
        Assert.Equal([1, 2, 101, 102], layout.ClassIds);
        Assert.Equal(12, layout.Records.Count);

        var again = SampleRun.Run<PaperCommand>(PaperCommand.Info, args);
        Assert.Equal(ExitCodes.UsageError, again.ExitCode);
        Assert.Contains("already holds files", again.Error);
        Assert.Equal(12, EmbeddingDistillation.Vision.Cub200.Read(dir).Records.Count);
    }

    [Fact]
    public void HelpAndVersionExitWithZero()
    {
        Assert.Equal(ExitCodes.Success, SampleRun.Run<PaperCommand>(PaperCommand.Info, "--help").ExitCode);
        Assert.Equal(ExitCodes.Success, SampleRun.Run<PaperCommand>(PaperCommand.Info, "--version").ExitCode);
    }

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }
}
