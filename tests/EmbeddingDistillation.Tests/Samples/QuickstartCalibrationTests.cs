using System.Globalization;
using System.Text.Json;
using EmbeddingDistillation.Samples.Quickstart;
using EmbeddingDistillation.Samples.Quickstart.Calibration;
using EmbeddingDistillation.Samples.Runs;
using Spectre.Console;
using TorchSharp;

namespace EmbeddingDistillation.Tests.Samples;

/// <summary>
/// <c>--calibrate</c> on a tiny dataset: every stage is trained and written, each stage keeps its best cell by
/// validation Recall@1, the distilled stages train with the budget and warm-up the baseline stages chose, and a resumed calibration
/// reloads every run instead of training it again.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class QuickstartCalibrationTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "ed-calibration-" + Guid.NewGuid().ToString("N"));

    // Budgets above 3 epochs, so that the warm-up stage compares 1 and 3 epochs of warm-up.
    private static readonly IReadOnlyList<int> TinyBudgets = [4, 5];

    private QuickstartOptions Tiny(bool resume = false) => new()
    {
        Calibrate = true, CalibrationSeeds = [3], Report = _root, Resume = resume, Device = "cpu", Threads = torch.get_num_threads(),
        Classes = 16, ImagesPerClass = 6, ImageSize = 16, ValidationClasses = 2,
        Teacher = "resnet18", TeacherBaseWidth = 8, Student = "mobilenetv1-0.25", EmbeddingDim = 8,
        TeacherEpochs = 1, StudentEpochs = 1, ClassesPerBatch = 3, ImagesPerClassInBatch = 3,
    };

    [Fact]
    public void EveryStageIsWrittenWithItsBestCellAndAResumedCalibrationTrainsNothing()
    {
        var quiet = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(TextWriter.Null) });
        var trained = new List<string>();
        TrainingRunner recording = (title, train) => { trained.Add(title); return train(null); };

        Assert.Equal(0, new QuickstartCalibration(Tiny(), quiet, recording, TinyBudgets).Execute(CancellationToken.None));

        var rows = File.ReadAllLines(Path.Combine(_root, "calibration-grid.csv")).Skip(1)
            .Select(line => line.Split("\","))
            .Select(p => (Stage: p[0].Trim('"'), Fields: p[1].Split(',')))
            .Select(r => (r.Stage, Name: r.Fields[0], RecallAtOne: double.Parse(r.Fields[2], CultureInfo.InvariantCulture),
                          MapAtR: double.Parse(r.Fields[3], CultureInfo.InvariantCulture)))
            .ToList();
        var stages = rows.Select(r => r.Stage).Distinct().ToList();
        // The averaging stage is chosen on the baseline; when it chooses an average, a check trains the distilled students with it.
        string averaging = rows.Where(r => r.Stage == CalibrationGrid.AveragingStage).OrderByDescending(r => r.RecallAtOne).ThenByDescending(r => r.MapAtR).First().Name;
        bool averaged = averaging != "baseline-no-average";
        Assert.Equal([CalibrationGrid.TeacherStage, CalibrationGrid.StudentStage, CalibrationGrid.BudgetStage, CalibrationGrid.WarmupStage, CalibrationGrid.AbsoluteStage,
                      CalibrationGrid.RelativeStage, CalibrationGrid.RkdStage, CalibrationGrid.CombinedStage, CalibrationGrid.AveragingStage,
                      .. averaged ? new[] { CalibrationGrid.AveragedMethodsCheck } : []], stages);
        Assert.Equal(["baseline-no-average", "baseline-average0.99", "baseline-average0.995"], rows.Where(r => r.Stage == CalibrationGrid.AveragingStage).Select(r => r.Name));
        Assert.Equal(["baseline-e4", "baseline-e5"], rows.Where(r => r.Stage == CalibrationGrid.BudgetStage).Select(r => r.Name));
        Assert.Equal(["baseline-w1", "baseline-w3"], rows.Where(r => r.Stage == CalibrationGrid.WarmupStage).Select(r => r.Name));

        // calibration.md marks in bold exactly the cell with the highest validation Recall@1 (ties: MAP@R) of each stage.
        var markdown = File.ReadAllText(Path.Combine(_root, "calibration.md"));
        Assert.DoesNotContain("test", markdown.Replace("the test classes were never embedded", ""), StringComparison.OrdinalIgnoreCase);
        var Best = (string stage) => rows.Where(r => r.Stage == stage).OrderByDescending(r => r.RecallAtOne).ThenByDescending(r => r.MapAtR).First();
        foreach (var stage in stages.Where(s => s != CalibrationGrid.AveragedMethodsCheck))
        {
            var cells = rows.Where(r => r.Stage == stage).ToList();
            var best = Best(stage);
            foreach (var cell in cells)
                Assert.Equal(cell.Name == best.Name, markdown.Contains($"| **{cell.Name}** |"));
        }

        // Each distilled stage's choice is set against the chosen baseline, in points of validation R@1 (one seed here).
        var baseline = Best(CalibrationGrid.WarmupStage);
        Assert.All(rows.Where(r => r.Stage == CalibrationGrid.AveragedMethodsCheck), r => Assert.DoesNotContain($"| **{r.Name}** |", markdown)); // a check chooses nothing
        foreach (var stage in stages.SkipWhile(s => s != CalibrationGrid.AbsoluteStage).TakeWhile(s => s != CalibrationGrid.AveragingStage))
        {
            var best = Best(stage);
            double delta = best.RecallAtOne - baseline.RecallAtOne;
            string points = (100 * delta).ToString("+0.0;-0.0;0.0", CultureInfo.InvariantCulture);
            Assert.Contains($"| {best.Name} | {points} | {points} | {(delta > 0 ? 1 : 0)} of 1 seeds |", markdown);
        }

        // The distilled stages trained with the chosen budget and warm-up, and chosen.json says so.
        string budget = Best(CalibrationGrid.BudgetStage).Name["baseline-e".Length..];
        string warmup = baseline.Name["baseline-w".Length..];
        var methodRuns = Directory.GetDirectories(Path.Combine(_root, "runs", "seed-3")).Select(Path.GetFileName)
            .Where(n => !n!.StartsWith("student-", StringComparison.Ordinal) && !n.StartsWith("teacher-", StringComparison.Ordinal)).ToList();
        Assert.True(methodRuns.Count >= 15, string.Join(", ", methodRuns));
        string decay = averaged ? averaging["baseline-average".Length..] : "0";
        string trainedAs = $"-e{budget}{(warmup == "1" ? "" : "-w" + warmup)}";
        Assert.Equal(averaged ? 3 : 0, methodRuns.Count(n => n!.Contains($"{trainedAs}-avg{decay}-teacher-")));
        Assert.All(methodRuns.Where(n => !n!.Contains("-avg")), n => Assert.Contains($"{trainedAs}-teacher-", n));
        var chosen = JsonDocument.Parse(File.ReadAllText(Path.Combine(_root, "chosen.json"))).RootElement.GetProperty("commandLine").GetString()!;
        Assert.Contains($"--student-epochs {budget} --student-warmup-epochs {warmup} --student-weight-average {decay} ", chosen);

        // --resume reloads every finished run and writes the same grid.
        trained.Clear();
        string csv = File.ReadAllText(Path.Combine(_root, "calibration-grid.csv"));
        Assert.Equal(0, new QuickstartCalibration(Tiny(resume: true), quiet, recording, TinyBudgets).Execute(CancellationToken.None));
        Assert.Empty(trained);
        Assert.Equal(DropSeconds(csv), DropSeconds(File.ReadAllText(Path.Combine(_root, "calibration-grid.csv"))));
    }

    [Fact]
    public void TwoSeedsSideBySideWriteTheGridOfTwoSeedsOneAfterTheOther()
    {
        int threads = torch.get_num_threads();
        var quiet = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(TextWriter.Null) });
        string Grid(string report) => string.Join("\n", DropSeconds(File.ReadAllText(Path.Combine(_root, report, "calibration-grid.csv"))));
        try
        {
            var twoSeeds = Tiny() with { CalibrationSeeds = [3, 4], StudentEpochs = 1 };
            Assert.Equal(0, new QuickstartCalibration(twoSeeds with { Report = Path.Combine(_root, "parallel"), Threads = 2, ParallelStudents = 2 },
                quiet, (_, train) => train(null), [2, 3]).Execute(CancellationToken.None));
            Assert.Equal(0, new QuickstartCalibration(twoSeeds with { Report = Path.Combine(_root, "sequential"), Threads = 1, ParallelStudents = 1 },
                quiet, (_, train) => train(null), [2, 3]).Execute(CancellationToken.None));
            Assert.Equal(Grid("sequential"), Grid("parallel"));
        }
        finally
        {
            torch.set_num_threads(threads);
        }
    }

    /// <summary>The grid without its last column (each run's training time, which a reloaded run keeps but a test should not rely on).</summary>
    private static string[] DropSeconds(string csv) =>
        csv.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l[..l.LastIndexOf(',')]).ToArray();

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }
}
