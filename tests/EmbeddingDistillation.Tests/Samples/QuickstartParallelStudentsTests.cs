using EmbeddingDistillation.Samples.Quickstart;
using EmbeddingDistillation.Samples.Runs;
using Spectre.Console;
using TorchSharp;

namespace EmbeddingDistillation.Tests.Samples;

/// <summary>
/// <c>--parallel-students</c>: students trained side by side, one libtorch thread each, end with exactly the weights
/// they get when trained one after the other at one thread, and a failing run stops the others and surfaces.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class QuickstartParallelStudentsTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "ed-parallel-" + Guid.NewGuid().ToString("N"));

    private QuickstartOptions Tiny(string report, int threads, int parallel, string? teacherWeights = null) => new()
    {
        Report = Path.Combine(_root, report), Seed = 3, Device = "cpu", Threads = threads, ParallelStudents = parallel, TeacherWeights = teacherWeights,
        Classes = 16, ImagesPerClass = 8, ImageSize = 32, ValidationClasses = 2,
        Teacher = "resnet18", TeacherBaseWidth = 16, Student = "mobilenetv1-0.25", EmbeddingDim = 16,
        Distill = ["absolute", "relative", "absolute+relative"], TeacherEpochs = 2, StudentEpochs = 3, StudentWarmupEpochs = 1,
        ClassesPerBatch = 3, ImagesPerClassInBatch = 4, Fast = true,
    };

    private static readonly string[] Students = ["student-baseline", "student-absolute", "student-relative", "student-absolute+relative"];

    [Fact]
    public void StudentsTrainedSideBySideEqualStudentsTrainedAloneAtOneThread()
    {
        int threads = torch.get_num_threads();
        var quiet = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(TextWriter.Null) });
        var started = new List<string>();
        TrainingRunner recording = (title, train) => { lock (started) started.Add(title); return train(null); };
        try
        {
            // Four students, two at a time on two worker threads of one libtorch thread each.
            new QuickstartRun(Tiny("parallel", Math.Max(2, threads), parallel: 2), quiet, recording).Execute(CancellationToken.None);
            Assert.Equal("teacher", started[0]);
            Assert.Equal(Students.Order(StringComparer.Ordinal), started.Skip(1).Order(StringComparer.Ordinal));
            // The same students one after the other at one thread, against the same teacher.
            string teacher = Path.Combine(_root, "parallel", "checkpoints", "teacher", "final.weights");
            new QuickstartRun(Tiny("sequential", 1, parallel: 1, teacher), quiet, (_, train) => train(null)).Execute(CancellationToken.None);
            foreach (var student in Students)
                Assert.True(File.ReadAllBytes(Path.Combine(_root, "parallel", "checkpoints", student, "final.weights"))
                    .SequenceEqual(File.ReadAllBytes(Path.Combine(_root, "sequential", "checkpoints", student, "final.weights"))), student);
            // results.csv lists the students in the same order, whichever finished first.
            Assert.Equal(File.ReadAllLines(Path.Combine(_root, "sequential", "results.csv")).Select(l => l.Split(',')[0]),
                File.ReadAllLines(Path.Combine(_root, "parallel", "results.csv")).Select(l => l.Split(',')[0]));
        }
        finally
        {
            torch.set_num_threads(threads);
        }
    }

    [Fact]
    public void AFailingRunCancelsTheOthersAndIsRethrown()
    {
        var seen = new List<(int Run, bool Cancelled)>();
        using var secondStarted = new ManualResetEventSlim();
        var e = Assert.Throws<InvalidOperationException>(() => ParallelRuns.Run(4, 2, 1, (i, ct) =>
        {
            if (i == 0)
            {
                secondStarted.Wait(TimeSpan.FromSeconds(30));
                throw new InvalidOperationException("run 0 failed");
            }
            // The other worker's run waits for the failure to cancel it, as a training run stops after its current step.
            secondStarted.Set();
            bool cancelled = ct.WaitHandle.WaitOne(TimeSpan.FromSeconds(30));
            lock (seen) seen.Add((i, cancelled));
        }, CancellationToken.None));
        Assert.Equal("run 0 failed", e.Message);
        Assert.Equal([(1, true)], seen); // run 1 was cancelled; runs 2 and 3 never started
    }

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }
}
