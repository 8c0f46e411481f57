using EmbeddingDistillation.Samples.CommandLine;
using EmbeddingDistillation.Samples.IndexDemo;

namespace EmbeddingDistillation.Tests.Samples;

/// <summary>The index demo refuses bad values and never overwrites an existing PNG or index file without --force.</summary>
public sealed class IndexDemoCommandLineTests : IDisposable
{
    private readonly string _folder = Directory.CreateDirectory(SampleRun.NewPath("ed-indexdemo-cli")).FullName;

    [Theory]
    [InlineData("--bench -5,4", "--bench", "-5,4")]
    [InlineData("--bench 0,0", "--bench", "0,0")]
    [InlineData("--bench 20000", "--bench", "20000")]
    [InlineData("--bench 100000000,512", "--bench", "100000000,512")]
    [InlineData("--steps abc", "--steps", "abc")]
    [InlineData("--steps -1", "--steps", "-1")]
    [InlineData("--k 0", "--k", "0")]
    [InlineData("--queries 51", "--queries", "51")]
    [InlineData("--metric manhattan", "--metric", "manhattan")]
    [InlineData("--network resnet999", "--network", "resnet999")]
    [InlineData("--embedding-dim 0", "--embedding-dim", "0")]
    [InlineData("--threads 0", "--threads", "0")]
    [InlineData("--weights /no/such/student.weights", "--weights", "/no/such/student.weights")]
    [InlineData("--out /no/such/folder/grid.png", "--out", "/no/such/folder/grid.png")]
    public void BadValuesAreRefusedWithTheUsageExitCode(string args, string option, string value)
    {
        // Outputs go to an empty folder unless the case is about --out itself: nothing may appear there.
        string[] line = args.StartsWith("--out", StringComparison.Ordinal) ? args.Split(' ') : [.. args.Split(' '), "--out", Path.Combine(_folder, "grid.png")];
        var (code, _, error) = SampleRun.Run<IndexDemoCommand>(IndexDemoCommand.Info, line);
        Assert.Equal(ExitCodes.UsageError, code);
        Assert.Contains(option, error);
        Assert.Contains(value, error);
        Assert.DoesNotContain(" at ", error);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_folder));
    }

    [Theory]
    [InlineData("grid.png")]
    [InlineData("grid.edidx")]
    public void AnExistingOutputIsRefusedNamingTheFileUnlessForced(string existing)
    {
        string png = Path.Combine(_folder, "grid.png");
        File.WriteAllText(Path.Combine(_folder, existing), "keep me");
        var (code, _, error) = SampleRun.Run<IndexDemoCommand>(IndexDemoCommand.Info, "--out", png, "--steps", "0");
        Assert.Equal(ExitCodes.UsageError, code);
        Assert.Contains(Path.Combine(_folder, existing), error);
        Assert.Contains("--force", error);
        Assert.Equal("keep me", File.ReadAllText(Path.Combine(_folder, existing)));

        // With --force the same command line is accepted (parsed and validated only: no run here).
        var forced = SampleApp.Parse<IndexDemoSettings>(["--out", png, "--steps", "0", "--force"]);
        Assert.True(forced.Force);
    }

    [Fact]
    public void HelpAndVersionExitWithZero()
    {
        var help = SampleRun.Run<IndexDemoCommand>(IndexDemoCommand.Info, "--help");
        Assert.Equal(ExitCodes.Success, help.ExitCode);
        Assert.Contains("--force", help.Output);
        Assert.Equal(ExitCodes.Success, SampleRun.Run<IndexDemoCommand>(IndexDemoCommand.Info, "--version").ExitCode);
    }

    public void Dispose()
    {
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
    }
}
