using EmbeddingDistillation.Samples.PaperPipelines;
using EmbeddingDistillation.Samples.Runs;
using EmbeddingDistillation.Tests.Samples;
using EmbeddingDistillation.Training;

namespace EmbeddingDistillation.Tests.Pipelines;

/// <summary>An interrupted paper pipeline resumed with --resume writes the results.csv of an uninterrupted run.</summary>
[Collection(SerialCollection.Name)]
public class PaperResumeTests
{
    [Fact]
    public void InterruptedPipelineResumedWithResumeWritesTheResultsOfAnUninterruptedRun()
    {
        using var f = new PaperFixture();
        string[] Args(string report, params string[] extra) => PaperPipelineTests.TinyArgs(f, Path.Combine(f.Root, report), ["--methods", "baseline,absolute", .. extra]);
        new PaperPipeline(PaperArgumentsTests.Parse(Args("reference"))).Run();

        // 2 epochs x 2 batches: cancelled once the absolute student has done step 3 (inside its second epoch).
        using var cancel = new CancellationTokenSource();
        TrainingRunner cancelling = (title, train) => train(title.EndsWith("-absolute", StringComparison.Ordinal) ? new CancelAtStep(3, cancel) : null);
        Assert.Throws<OperationCanceledException>(() =>
            new PaperPipeline(PaperArgumentsTests.Parse(Args("interrupted", "--checkpoints")), runner: cancelling).Run(cancel.Token));

        var trained = new List<(string Title, TrainingResult Result)>();
        TrainingRunner recording = (title, train) =>
        {
            var result = train(null);
            trained.Add((title, result));
            return result;
        };
        new PaperPipeline(PaperArgumentsTests.Parse(Args("interrupted", "--resume")), runner: recording).Run();
        var (resumedTitle, resumed) = Assert.Single(trained);   // teacher and baseline reloaded, not retrained
        Assert.EndsWith("-absolute", resumedTitle);
        Assert.True(resumed.Resumed);

        Assert.Equal(WithoutLatency(Path.Combine(f.Root, "reference", "results.csv")), WithoutLatency(Path.Combine(f.Root, "interrupted", "results.csv")));
    }

    private static string[] WithoutLatency(string csv) => File.ReadAllLines(csv).Select(l => l[..l.LastIndexOf(',')]).ToArray();

    private sealed class CancelAtStep(int step, CancellationTokenSource source) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value)
        {
            if (value.Validation is null && value.Step == step) source.Cancel();
        }
    }
}
