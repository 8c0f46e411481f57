using EmbeddingDistillation.Evaluation;
using EmbeddingDistillation.Samples;
using EmbeddingDistillation.Samples.Quickstart;
using EmbeddingDistillation.Samples.Runs;
using EmbeddingDistillation.Training;
using Spectre.Console;
using TorchSharp;
using Xunit.Abstractions;

namespace EmbeddingDistillation.Tests.Samples;

/// <summary>An interrupted quickstart resumed with --resume writes the results.csv of an uninterrupted run.</summary>
[Collection(SerialCollection.Name)]
public sealed class QuickstartResumeTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "ed-quickstart-" + Guid.NewGuid().ToString("N"));

    /// <summary>
    /// A tiny run: 6 training classes x 8 images in 3 x 4 batches = 4 steps per epoch; teacher 2 epochs, three students
    /// 3 epochs each. The thread count is the process's own, so the runs do not change torch's global state.
    /// </summary>
    private QuickstartOptions Tiny(string report, bool resume = false) => new()
    {
        Report = Path.Combine(_root, report), Resume = resume, Seed = 3, Device = "cpu", Threads = torch.get_num_threads(),
        Classes = 16, ImagesPerClass = 8, ImageSize = 32, ValidationClasses = 2,
        Teacher = "resnet18", TeacherBaseWidth = 16, Student = "mobilenetv1-0.25", EmbeddingDim = 16,
        Distill = ["absolute", "relative"], TeacherEpochs = 2, StudentEpochs = 3, StudentWarmupEpochs = 1, ClassesPerBatch = 3, ImagesPerClassInBatch = 4,
        Fast = true, // fewer latency iterations
    };

    [Fact]
    public void InterruptedRunResumedWithResumeWritesTheResultsOfAnUninterruptedRun()
    {
        var quiet = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(TextWriter.Null) });

        // Uninterrupted reference.
        new QuickstartRun(Tiny("reference"), quiet, (_, train) => train(null)).Execute(CancellationToken.None);

        // Interrupted in the middle of the second epoch of the first distilled student (step 6 of 12, not an epoch end).
        using var cancel = new CancellationTokenSource();
        var interrupted = Tiny("interrupted");
        TrainingRunner cancelling = (title, train) => train(title == "student-absolute" ? new CancelAtStep(6, cancel) : null);
        Assert.Throws<OperationCanceledException>(() => new QuickstartRun(interrupted, quiet, cancelling).Execute(cancel.Token));
        var folder = Path.Combine(interrupted.Report, "checkpoints");
        Assert.True(new RunFolder(Path.Combine(folder, "teacher")).IsFinished);
        Assert.True(new RunFolder(Path.Combine(folder, "student-baseline")).IsFinished);
        Assert.False(new RunFolder(Path.Combine(folder, "student-absolute")).IsFinished);
        Assert.True(File.Exists(Path.Combine(folder, "student-absolute", Trainer.LastCheckpointFile)));
        Assert.False(File.Exists(Path.Combine(interrupted.Report, "results.csv")));

        // Resumed: the finished runs are reloaded, the interrupted one continues, the last one trains.
        var trained = new List<(string Title, TrainingResult Result, int StepsThisSession)>();
        TrainingRunner recording = (title, train) =>
        {
            var steps = new StepCounter();
            var result = train(steps);
            trained.Add((title, result, steps.Count));
            return result;
        };
        new QuickstartRun(Tiny("interrupted", resume: true), quiet, recording).Execute(CancellationToken.None);
        Assert.Equal(["student-absolute", "student-relative"], trained.Select(t => t.Title));
        Assert.True(trained[0].Result.Resumed);
        Assert.Equal((12, 6), (trained[0].Result.Steps, trained[0].StepsThisSession)); // continued at step 7, not retrained
        Assert.Equal((12, 12), (trained[1].Result.Steps, trained[1].StepsThisSession));

        var expected = WithoutTimings(Path.Combine(_root, "reference", "results.csv"));
        var actual = WithoutTimings(Path.Combine(interrupted.Report, "results.csv"));
        output.WriteLine(string.Join("\n", actual));
        Assert.Equal(expected, actual);
    }

    /// <summary>results.csv without the latency column: a timing, different in every run.</summary>
    private static string[] WithoutTimings(string csv)
    {
        var lines = File.ReadAllLines(csv);
        int latency = Array.IndexOf(lines[0].Split(','), "latency_ms");
        Assert.Equal(ResultsTable.CsvHeader.Split(',').Length - 1, latency);
        return lines.Select(l => string.Join(',', l.Split(',')[..latency])).ToArray();
    }

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    private sealed class StepCounter : IProgress<TrainingProgress>
    {
        public int Count { get; private set; }

        public void Report(TrainingProgress value)
        {
            if (value.Validation is null) Count++;
        }
    }

    /// <summary>Requests cancellation once the trainer reports step <c>step</c>: the trainer stops before the next one.</summary>
    private sealed class CancelAtStep(int step, CancellationTokenSource source) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value)
        {
            if (value.Validation is null && value.Step == step) source.Cancel();
        }
    }
}
