using EmbeddingDistillation.Samples.CommandLine;
using EmbeddingDistillation.Samples.PaperPipelines;
using EmbeddingDistillation.Tests.Samples;
using TorchSharp;
using Xunit.Abstractions;

namespace EmbeddingDistillation.Tests.Pipelines;

/// <summary>A corrupt image is found before any training: the run stops naming it, or leaves it out when asked to.</summary>
public class CorruptImageTests(ITestOutputHelper output)
{
    private const string Corrupt = "images/101.Bird_101/Bird_101_2.jpg";

    /// <summary>A CUB fixture whose test image <see cref="Corrupt"/> is cut in half (truncated JPEG).</summary>
    private static PaperFixture FixtureWithACorruptTestImage()
    {
        var f = new PaperFixture();
        string path = Path.Combine(f.Cub, Corrupt);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        return f;
    }

    [Fact]
    public void ACorruptTestImageStopsTheRunBeforeTheTeacherTrainsNamingTheFile()
    {
        using var f = FixtureWithACorruptTestImage();
        var (code, _, error) = SampleRun.Run<PaperCommand>(PaperCommand.Info,
            [.. PaperPipelineTests.TinyArgs(f, f.Report, "--methods", "baseline"), "--threads", torch.get_num_threads().ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        output.WriteLine(error);
        Assert.Equal(ExitCodes.RuntimeFailure, code);
        Assert.Contains(Path.Combine(f.Cub, Corrupt), error);
        Assert.Contains("truncated", error);
        Assert.Contains("--skip-corrupt-images", error);
        Assert.False(File.Exists(Path.Combine(f.Report, "teacher.weights")));      // nothing was trained
        Assert.False(Directory.Exists(Path.Combine(f.Report, "checkpoints")));
    }

    [Fact]
    public void SkipCorruptImagesLeavesTheFileOutAndReportsIt()
    {
        using var f = FixtureWithACorruptTestImage();
        var log = new StringWriter();
        var result = new PaperPipeline(PaperArgumentsTests.Parse(PaperPipelineTests.TinyArgs(f, f.Report, "--methods", "baseline", "--skip-corrupt-images")), log).Run();
        output.WriteLine(log.ToString());

        Assert.Contains("Skipped 1 corrupt image(s)", log.ToString());
        Assert.Equal(4 * 6 - 1, result.Split.Test.Records.Count);
        Assert.DoesNotContain(result.Split.Test.Records, r => r.RelativePath == Corrupt);
        Assert.Contains(Corrupt, File.ReadAllText(Path.Combine(f.Report, "results.md")));
        var skipped = Assert.Single(File.ReadAllLines(Path.Combine(f.Report, PaperReport.SkippedImagesFile)));
        Assert.StartsWith(Path.Combine(f.Cub, Corrupt) + "\t", skipped);
        Assert.Equal(3, File.ReadAllLines(Path.Combine(f.Report, "results.csv")).Length); // header, teacher, baseline
    }
}
