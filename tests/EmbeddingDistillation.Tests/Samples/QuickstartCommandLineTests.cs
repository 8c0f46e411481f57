using EmbeddingDistillation.Samples.CommandLine;
using EmbeddingDistillation.Samples.Quickstart;
using EmbeddingDistillation.Samples.Runs;

namespace EmbeddingDistillation.Tests.Samples;

/// <summary>The quickstart refuses bad command lines with exit code 2 and a message naming option and value, before any work.</summary>
public class QuickstartCommandLineTests
{
    [Theory]
    [InlineData("--teacher-epochs -1", "--teacher-epochs", "-1")]
    [InlineData("--image-size 0", "--image-size", "0")]
    [InlineData("--device tpu", "--device", "tpu")]
    [InlineData("--teacher resnet999", "--teacher", "resnet999")]
    [InlineData("--student mobilenetv1-0", "--student", "mobilenetv1-0")]
    [InlineData("--student-epochs 0", "--student-epochs", "0")]
    [InlineData("--student-lr NaN", "--student-lr", "NaN")]
    [InlineData("--teacher-lr 0", "--teacher-lr", "0")]
    [InlineData("--lambda-relative -1", "--lambda-relative", "-1")]
    [InlineData("--lambda-relative-combined -1", "--lambda-relative-combined", "-1")]
    [InlineData("--threads 0", "--threads", "0")]
    [InlineData("--seed abc", "--seed", "abc")]
    [InlineData("--seed 1 --seed 2", "--seed", "2")]
    [InlineData("--distill absolute,fitnet", "--distill", "fitnet")]
    [InlineData("--teacher-loss arcface", "--teacher-loss", "arcface")]
    [InlineData("--teacher-weights /no/such/teacher.weights", "--teacher-weights", "/no/such/teacher.weights")]
    [InlineData("--classes 12 --validation-classes 5", "--validation-classes", "5")]
    [InlineData("--bogus 1", "--bogus", "--bogus")]
    [InlineData("--resume --overwrite", "--resume", "--overwrite")]
    [InlineData("--freeze-teacher", "--freeze-teacher", "--teacher-weights")]
    [InlineData("--teacher resnet18 --imagenet-model /no/such/ResNet18.onnx", "--imagenet-model", "/no/such/ResNet18.onnx")]
    [InlineData("--teacher-image-size 96", "--teacher-image-size", "imagenet-resnet18")]
    [InlineData("--teacher imagenet-resnet18 --teacher-image-size 4", "--teacher-image-size", "4")]
    [InlineData("--teacher imagenet-resnet18 --freeze-teacher", "--distill absolute", "--embedding-dim 512")]
    [InlineData("--teacher imagenet-resnet18 --teacher-small-stem", "--teacher-small-stem", "imagenet-resnet18")]
    [InlineData("--teacher imagenet-resnet18 --teacher-base-width 16", "--teacher-base-width", "imagenet-resnet18")]
    [InlineData("--teacher imagenet-resnet18 --calibrate", "--calibrate", "imagenet-resnet18")]
    [InlineData("--calibrate --student-epochs 60", "--student-epochs 60", "--calibrate")]
    [InlineData("--calibrate --student-warmup-epochs 5", "--student-warmup-epochs 5", "--calibrate")]
    [InlineData("--student-weight-average 1", "--student-weight-average", "1")]
    [InlineData("--student-weight-average -0.5", "--student-weight-average", "-0.5")]
    [InlineData("--calibrate --student-weight-average 0.99", "--student-weight-average 0.99", "--calibrate")]
    [InlineData("--student-epochs 5 --student-warmup-epochs 5", "--student-warmup-epochs", "5")]
    [InlineData("--student-warmup-epochs -1", "--student-warmup-epochs", "-1")]
    [InlineData("--teacher imagenet-resnet18 --freeze-teacher --embedding-dim 512 --teacher-weights /no/such/teacher.weights", "--freeze-teacher", "--teacher-weights")]
    public void BadValuesAreRefusedWithTheUsageExitCodeBeforeAnyWork(string args, string option, string value)
    {
        string report = SampleRun.NewPath("ed-quickstart-cli");
        var (code, _, error) = SampleRun.Run<QuickstartCommand>(QuickstartCommand.Info, [.. args.Split(' '), "--report", report]);
        Assert.Equal(ExitCodes.UsageError, code);
        Assert.Contains(option, error);
        Assert.Contains(value, error);
        Assert.DoesNotContain(" at ", error);          // no stack trace
        Assert.False(Directory.Exists(report));       // refused before the report folder, data or training
    }

    [Fact]
    public void AnExistingReportIsNeitherDeletedNorOverwrittenWithoutBeingAsked()
    {
        string report = Directory.CreateDirectory(SampleRun.NewPath("ed-quickstart-cli")).FullName;
        try
        {
            File.WriteAllText(Path.Combine(report, "results.csv"), "an earlier run");
            var (code, _, error) = SampleRun.Run<QuickstartCommand>(QuickstartCommand.Info, "--fast", "--report", report);
            Assert.Equal(ExitCodes.UsageError, code);
            Assert.Contains("--resume", error);
            Assert.Contains("--overwrite", error);
            Assert.Equal("an earlier run", File.ReadAllText(Path.Combine(report, "results.csv")));
            Assert.Single(Directory.EnumerateFileSystemEntries(report));
        }
        finally
        {
            Directory.Delete(report, recursive: true);
        }
    }

    [Fact]
    public void ResumeWithAnotherSeedIsRefusedNamingTheOptionAndBothValues()
    {
        string report = Directory.CreateDirectory(SampleRun.NewPath("ed-quickstart-cli")).FullName;
        try
        {
            SampleApp.Parse<QuickstartSettings>(["--fast", "--seed", "7"]).Resolve().RunSettings().Write(report);
            var (code, _, error) = SampleRun.Run<QuickstartCommand>(QuickstartCommand.Info,
                "--fast", "--report", report, "--resume", "--seed", "8", "--student-epochs", "9");
            Assert.Equal(ExitCodes.UsageError, code);
            Assert.Contains("--seed: '7' in the report, '8' now", error);
            Assert.Contains("--student-epochs: '4' in the report, '9' now", error);
            Assert.Equal([RunSettings.FileName], Directory.EnumerateFileSystemEntries(report).Select(Path.GetFileName));
        }
        finally
        {
            Directory.Delete(report, recursive: true);
        }
    }

    [Fact]
    public void OverwriteDeletesOnlyWhatTheQuickstartWrote()
    {
        string report = Directory.CreateDirectory(SampleRun.NewPath("ed-quickstart-cli")).FullName;
        try
        {
            string[] sampleFiles = ["results.csv", "student.onnx", RunSettings.FileName, "checkpoints/teacher/last.ckpt", "checkpoints/teacher/finished.json"];
            string[] userFiles = ["notes.txt", "checkpoints/teacher/my-copy.weights"];
            foreach (var f in sampleFiles.Concat(userFiles))
            {
                Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(report, f))!);
                File.WriteAllText(Path.Combine(report, f), f);
            }
            var notes = ReportFolder.Prepare(report, new QuickstartOptions().RunSettings(), resume: false, overwrite: true, QuickstartRun.Outputs);
            Assert.Contains(notes, n => n.Contains("deleted 5 file(s)", StringComparison.Ordinal));
            Assert.All(userFiles, f => Assert.True(File.Exists(Path.Combine(report, f)), f));
            Assert.All(sampleFiles.Where(f => f != RunSettings.FileName), f => Assert.False(File.Exists(Path.Combine(report, f)), f));
            Assert.Equal("quickstart", RunSettings.Read(report)!.Sample);   // the new run's settings
        }
        finally
        {
            Directory.Delete(report, recursive: true);
        }
    }

    [Fact]
    public void HelpAndVersionExitWithZero()
    {
        var help = SampleRun.Run<QuickstartCommand>(QuickstartCommand.Info, "--help");
        Assert.Equal(ExitCodes.Success, help.ExitCode);
        Assert.Contains("--resume", help.Output);
        Assert.Contains("Exit codes", help.Output);
        var version = SampleRun.Run<QuickstartCommand>(QuickstartCommand.Info, "--version");
        Assert.Equal(ExitCodes.Success, version.ExitCode);
        Assert.Matches(@"\d+\.\d+\.\d+", version.Output);
    }
}
