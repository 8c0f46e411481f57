using System.Globalization;
using System.Text;
using System.Text.Json;
using EmbeddingDistillation.Networks;
using EmbeddingDistillation.Samples.Runs;
using EmbeddingDistillation.Training;
using Microsoft.Extensions.Logging;
using Spectre.Console;
using TorchSharp;
using static EmbeddingDistillation.Samples.Quickstart.Calibration.CalibrationGrid;

namespace EmbeddingDistillation.Samples.Quickstart.Calibration;

/// <summary>
/// <c>--calibrate</c>: chooses the quickstart's defaults on validation classes only. Every configuration of
/// <see cref="CalibrationGrid"/> is trained on each calibration seed's dataset and scored by its best validation
/// Recall@1 (ties: MAP@R), averaged over the seeds; each stage keeps the best configuration for the next. The test
/// classes are never embedded. Writes <c>calibration.md</c> (the grid), <c>calibration-grid.csv</c> (every run) and
/// <c>chosen.json</c> (the chosen options as a command line). Finished runs are reloaded on <c>--resume</c>.
/// </summary>
internal sealed class QuickstartCalibration
{
    // The sample programs against the interface: a user can pass any ITrainer (a wrapper that logs, a distributed one).
    private static readonly ITrainer _trainer = new Trainer();

    public static readonly SampleOutputs Outputs = new(["calibration.md", "calibration-grid.csv", "chosen.json"], ["runs"]);

    private readonly QuickstartOptions o;
    private readonly IAnsiConsole console;
    private readonly TrainingRunner runner;
    private readonly Dictionary<int, QuickstartSetup> setups = [];
    private readonly List<(string Stage, CellScore Score, bool Chosen)> table = [];

    /// <summary>
    /// The student budgets the epochs stage compares: 60 epochs is about the most the default run's 10 minutes on 2
    /// idle cores allow (a teacher and four students, two students side by side).
    /// </summary>
    public static readonly IReadOnlyList<int> DefaultBudgets = [30, 45, 60];

    private readonly IReadOnlyList<int> budgets;

    /// <param name="options">The quickstart options the grid starts from (seeds, dataset, networks).</param>
    /// <param name="console">Where progress goes.</param>
    /// <param name="runner">Runs each training (the console's progress bar by default).</param>
    /// <param name="budgets">The student epochs the epochs stage compares (<see cref="DefaultBudgets"/>; tests pass tiny ones).</param>
    public QuickstartCalibration(QuickstartOptions options, IAnsiConsole? console = null, TrainingRunner? runner = null, IReadOnlyList<int>? budgets = null)
    {
        this.budgets = budgets ?? DefaultBudgets;
        o = options;
        this.console = console ?? AnsiConsole.Console;
        this.runner = runner ?? ConsoleProgress.Runner;
    }

    public int Execute(CancellationToken ct)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        foreach (var line in ReportFolder.Prepare(o.Report, o.RunSettings(), o.Resume, o.Overwrite, Outputs))
            console.MarkupLine(Markup.Escape(line));
        torch.set_num_threads(o.Threads);
        if (Console.IsOutputRedirected) console.Profile.Width = 200;
        console.MarkupLine($"[bold]Quickstart calibration[/] on seeds {string.Join(", ", o.CalibrationSeeds)}: validation classes only, the test classes are never embedded.");
        foreach (var seed in o.CalibrationSeeds) setups[seed] = QuickstartSetup.Create(o with { Seed = seed });

        // The rates are compared at the shortest budget and the first warm-up, without weight averaging: the later
        // stages choose all three, so the grid never depends on the defaults a previous calibration set.
        var chosen = o with { StudentEpochs = budgets[0], StudentWarmupEpochs = UncalibratedWarmupEpochs, StudentWeightAverage = 0 };
        chosen = Stage(Teachers(), chosen, ct);
        chosen = Stage(Students(), chosen, ct);
        chosen = Stage(Budget(budgets), chosen, ct);
        chosen = Stage(Warmup(chosen.StudentEpochs), chosen, ct);
        chosen = Stage(Absolute(), chosen, ct);
        chosen = Stage(Relative(), chosen, ct);
        chosen = Stage(Rkd(), chosen, ct);
        var combined = Stage(Combined(chosen), chosen, ct);
        chosen = chosen with { DistilledMetricWeights = combined.DistilledMetricWeights, LambdaRelativeCombined = combined.LambdaRelativeCombined };
        chosen = Stage(Averaging(), chosen, ct);
        if (chosen.StudentWeightAverage > 0) Stage(AveragedMethods(chosen), chosen, ct, choose: false);

        Write(chosen);
        console.MarkupLine($"Chosen: {Markup.Escape(CommandLine(chosen))}");
        console.MarkupLine($"Calibration written to {Markup.Escape(Path.GetFullPath(o.Report))} (calibration.md, calibration-grid.csv, chosen.json). Total {clock.Elapsed:hh\\:mm\\:ss}.");
        return 0;
    }

    /// <summary>Scores every cell of a stage and returns the options of the best one (<paramref name="choose"/> false: a check, nothing is marked or returned).</summary>
    private QuickstartOptions Stage(IEnumerable<CalibrationCell> cells, QuickstartOptions chosen, CancellationToken ct, bool choose = true)
    {
        var scores = new List<CellScore>();
        // A configuration's seeds train side by side (--parallel-students, one thread each by default): each seed has
        // its own dataset and run folder, and a one-thread run's weights do not depend on what runs beside it.
        int parallel = Math.Min(o.ParallelStudents, o.CalibrationSeeds.Count);
        foreach (var cell in cells)
        {
            var options = cell.Apply(chosen);
            var prepared = o.CalibrationSeeds.Select(seed => Prepare(cell, options with { Seed = seed }, ct)).ToArray();
            var runs = new SeedScore[prepared.Length];
            ConsoleProgress.ForParallel(runner, parallel, seedRunner => ParallelRuns.Run(runs.Length, parallel, o.ThreadsPerStudent,
                (i, token) => runs[i] = Score(prepared[i], seedRunner, token), ct));
            scores.Add(new CellScore(cell, options, runs));
        }
        torch.set_num_threads(o.Threads); // the workers' setting may reach libraries that keep one for the process (MKL)
        var best = scores.OrderByDescending(s => s.MeanRecallAtOne).ThenByDescending(s => s.MeanMapAtR).First();
        foreach (var s in scores) table.Add((s.Cell.Stage, s, choose && ReferenceEquals(s, best)));
        if (!choose)
        {
            foreach (var s in scores) console.MarkupLine(Markup.Escape($"{s.Cell.Stage}: {s.Cell.Name} (mean validation R@1 {s.MeanRecallAtOne:P1})"));
            return chosen;
        }
        console.MarkupLine(Markup.Escape($"{best.Cell.Stage}: {best.Cell.Name} (mean validation R@1 {best.MeanRecallAtOne:P1})"));
        return best.Options;
    }

    /// <summary>One configuration on one seed, built and ready to train (or reload).</summary>
    private sealed record PreparedRun(QuickstartSetup Setup, string Name, CellKind Kind, IEmbeddingNetwork Network, TrainingObjective Objective);

    /// <summary>
    /// Builds one configuration's network and objective on one seed, on the calling thread: they seed torch's one global
    /// generator and draw from it (initial weights, proxies), and so does every training run as it starts, so all of a
    /// stage's cells are built before any of them trains side by side. A distilled cell's teacher is reloaded here (or,
    /// if its stage never trained it, trained here, alone).
    /// </summary>
    private PreparedRun Prepare(CalibrationCell cell, QuickstartOptions options, CancellationToken ct)
    {
        var s = setups[options.Seed].WithOptions(options);
        string name = RunName(cell, options);
        if (cell.Kind == CellKind.Teacher) return new PreparedRun(s, name, cell.Kind, s.CreateTeacher(), s.TeacherObjective());
        var student = s.CreateStudent();
        var objective = cell.Kind == CellKind.Baseline ? s.StudentObjective("baseline", null) : s.StudentObjective(cell.Method!, Teacher(s, options, ct));
        return new PreparedRun(s, name, cell.Kind, student, objective);
    }

    /// <summary>Trains (or reloads) a prepared run and reads its validation at the best epoch (safe side by side).</summary>
    private SeedScore Score(PreparedRun p, TrainingRunner runner, CancellationToken ct)
    {
        var x = p.Setup.Options;
        var result = p.Kind == CellKind.Teacher
            ? Train(p.Setup, p.Name, p.Network, p.Objective, p.Setup.TrainingOptions, x.TeacherEpochs, x.TeacherLearningRate, runner, ct)
            : Train(p.Setup, p.Name, p.Network, p.Objective, p.Setup.StudentTrainingOptions, x.StudentEpochs, x.StudentLearningRate, runner, ct);
        var best = result.Validations.Last(v => v.Epoch == result.BestEpoch).Metrics;
        return new SeedScore(x.Seed, best["recall@1"], best["map@r"], result.BestEpoch ?? 0, result.Elapsed.TotalSeconds);
    }

    /// <summary>The chosen teacher of this seed, as trained by its teacher cell.</summary>
    private IEmbeddingNetwork Teacher(QuickstartSetup s, QuickstartOptions options, CancellationToken ct)
    {
        var teacher = s.CreateTeacher();
        var folder = RunFolderOf(TeacherKey(options), options.Seed);
        if (!folder.IsFinished)
            Train(s, TeacherKey(options), teacher, s.TeacherObjective(), s.TrainingOptions, options.TeacherEpochs, options.TeacherLearningRate, runner, ct);
        else folder.LoadFinished(teacher);
        return teacher;
    }

    private TrainingResult Train(QuickstartSetup s, string name, IEmbeddingNetwork network, TrainingObjective objective,
        Func<int, double, string?, ILoggerFactory?, TrainingOptions> trainingOptions, int epochs, double lr, TrainingRunner runner, CancellationToken ct)
    {
        var folder = RunFolderOf(name, s.Options.Seed);
        if (folder.IsFinished) return folder.LoadFinished(network);
        var options = trainingOptions(epochs, lr, folder.Path, null);
        var result = runner($"seed {s.Options.Seed} {name}", progress => _trainer.Fit(network, objective, s.Data, options, progress, ct));
        if (result.Cancelled) throw new OperationCanceledException($"{name} stopped after step {result.Steps}; its checkpoint is in {folder.Path}.", ct);
        folder.MarkFinished(network, result, $"calibration run {name} on seed {s.Options.Seed}");
        return result;
    }

    private RunFolder RunFolderOf(string name, int seed) => new(Path.Combine(o.Report, "runs", $"seed-{seed}", name));

    /// <summary>A run's folder name from everything that determines it, so a configuration met again is reloaded, not retrained.</summary>
    private static string RunName(CalibrationCell cell, QuickstartOptions x) => cell.Kind switch
    {
        CellKind.Teacher => TeacherKey(x),
        CellKind.Baseline => StudentKey(x),
        _ => string.Join("-", cell.Method!.Split('+').Select(term => term switch
             {
                 "absolute" => $"abs{F(x.LambdaAbsolute)}",
                 "relative" => $"rel{F(x.RelativeLambdaOf(cell.Method!))}",
                 _ => $"rkd{F(x.LambdaRkdDistance)}x{F(x.LambdaRkdAngle)}",
             })) + $"-m{F(x.MetricWeightOf(cell.Method!))}-{StudentKey(x)}-{TeacherKey(x)}",
    };

    private static string TeacherKey(QuickstartOptions x) => $"teacher-{x.TeacherLoss}-lr{F(x.TeacherLearningRate)}-e{x.TeacherEpochs}";

    // The warm-up joins the name only when it is not the one every run had before it was calibrated, so those runs are reloaded.
    private static string StudentKey(QuickstartOptions x) => $"student-{x.StudentLoss}-lr{F(x.StudentLearningRate)}-e{x.StudentEpochs}" +
        (x.StudentWarmupEpochs == UncalibratedWarmupEpochs ? "" : $"-w{x.StudentWarmupEpochs}") +
        (x.StudentWeightAverage == 0 ? "" : $"-avg{F(x.StudentWeightAverage)}");

    private void Write(QuickstartOptions chosen)
    {
        var csv = new StringBuilder("stage,configuration,seed,validation_recall_at_1,validation_map_at_r,best_epoch,seconds\n");
        foreach (var (stage, score, _) in table)
            foreach (var r in score.Runs)
                csv.AppendLine(string.Join(",", $"\"{stage}\"", score.Cell.Name, r.Seed, D(r.RecallAtOne), D(r.MapAtR), r.BestEpoch, r.Seconds.ToString("F0", CultureInfo.InvariantCulture)));
        File.WriteAllText(Path.Combine(o.Report, "calibration-grid.csv"), csv.ToString());

        var md = new StringBuilder();
        md.AppendLine("# Quickstart calibration (validation classes only)").AppendLine();
        md.AppendLine($"Seeds {string.Join(", ", o.CalibrationSeeds)}: {o.Classes} classes x {o.ImagesPerClass} images at {o.ImageSize} px, " +
            $"{o.ValidationClasses} of the {o.Classes / 2} training classes held out for validation; the test classes were never embedded. " +
            "Each configuration is scored by its best epoch's validation Recall@1 (ties: MAP@R), averaged over the seeds; each stage keeps its best (**bold**) for the next.");
        md.AppendLine().AppendLine($"Chosen: `{CommandLine(chosen)}`");
        foreach (var stage in table.Select(t => t.Stage).Distinct())
        {
            md.AppendLine().AppendLine($"## {stage}").AppendLine();
            md.Append("| configuration | ").Append(string.Join(" | ", o.CalibrationSeeds.Select(s => $"R@1 seed {s}"))).AppendLine(" | mean R@1 | mean MAP@R | best epochs |");
            md.Append("|---|").Append(string.Concat(o.CalibrationSeeds.Select(_ => "---:|"))).AppendLine("---:|---:|---|");
            foreach (var (_, score, isChosen) in table.Where(t => t.Stage == stage))
            {
                string B(string v) => isChosen ? $"**{v}**" : v;
                md.Append($"| {B(score.Cell.Name)} | ").Append(string.Join(" | ", score.Runs.Select(r => P(r.RecallAtOne))))
                  .AppendLine($" | {B(P(score.MeanRecallAtOne))} | {P(score.MeanMapAtR)} | {string.Join(", ", score.Runs.Select(r => r.BestEpoch))} |");
            }
        }
        AppendAgainstBaseline(md);
        File.WriteAllText(Path.Combine(o.Report, "calibration.md"), md.ToString());
        File.WriteAllText(Path.Combine(o.Report, "chosen.json"), JsonSerializer.Serialize(new { commandLine = CommandLine(chosen), seeds = o.CalibrationSeeds }, new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>
    /// Each distilled stage's choice against the baseline at the chosen budget, seed by seed: the calibration's own
    /// evidence of whether a method helps, before any test class is seen; then, with averaging chosen, the averaged
    /// students against the averaged baseline.
    /// </summary>
    private void AppendAgainstBaseline(StringBuilder md)
    {
        // The baseline the method stages were trained against: the last one chosen before them (a later stage, averaging, changes every student).
        int firstMethod = table.FindIndex(t => t.Score.Cell.Kind == CellKind.Method);
        var baseline = table.Take(firstMethod < 0 ? table.Count : firstMethod).LastOrDefault(t => t.Chosen && t.Score.Cell.Kind == CellKind.Baseline).Score;
        AppendDeltas(md, "Chosen distilled students against the baseline (validation R@1, points)", baseline,
            table.Where(t => t.Chosen && t.Score.Cell.Kind == CellKind.Method).Select(t => t.Score).ToArray());
        var averaged = table.LastOrDefault(t => t.Chosen && t.Stage == AveragingStage).Score;
        AppendDeltas(md, "The distilled students with the chosen averaging against the averaged baseline (validation R@1, points)", averaged,
            table.Where(t => t.Stage == AveragedMethodsCheck).Select(t => t.Score).ToArray());
    }

    private void AppendDeltas(StringBuilder md, string title, CellScore? baseline, IReadOnlyList<CellScore> methods)
    {
        if (baseline is null || methods.Count == 0) return;
        md.AppendLine().AppendLine($"## {title}").AppendLine();
        md.AppendLine($"Baseline: {baseline.Cell.Name}, mean {P(baseline.MeanRecallAtOne)}.").AppendLine();
        md.Append("| method | ").Append(string.Join(" | ", o.CalibrationSeeds.Select(s => $"seed {s}"))).AppendLine(" | mean | above the baseline on |");
        md.Append("|---|").Append(string.Concat(o.CalibrationSeeds.Select(_ => "---:|"))).AppendLine("---:|---:|");
        foreach (var m in methods)
        {
            var deltas = m.Runs.Zip(baseline.Runs, (r, b) => r.RecallAtOne - b.RecallAtOne).ToArray();
            md.Append($"| {m.Cell.Name} | ").Append(string.Join(" | ", deltas.Select(Signed)))
              .AppendLine($" | {Signed(deltas.Average())} | {deltas.Count(d => d > 0)} of {deltas.Length} seeds |");
        }
    }

    private static string Signed(double v) => (100 * v).ToString("+0.0;-0.0;0.0", CultureInfo.InvariantCulture);

    /// <summary>The chosen values as quickstart options.</summary>
    internal static string CommandLine(QuickstartOptions c) => string.Join(" ",
        $"--teacher-loss {c.TeacherLoss} --teacher-lr {F(c.TeacherLearningRate)} --teacher-epochs {c.TeacherEpochs}",
        $"--student-loss {c.StudentLoss} --student-lr {F(c.StudentLearningRate)} --student-epochs {c.StudentEpochs} --student-warmup-epochs {c.StudentWarmupEpochs} --student-weight-average {F(c.StudentWeightAverage)}",
        $"--lambda-absolute {F(c.LambdaAbsolute)} --lambda-relative {F(c.LambdaRelative)} --lambda-relative-combined {F(c.LambdaRelativeCombined)}",
        $"--lambda-rkd-distance {F(c.LambdaRkdDistance)} --lambda-rkd-angle {F(c.LambdaRkdAngle)}",
        $"--distilled-metric-weights {string.Join(",", c.DistilledMetricWeights.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={F(kv.Value)}"))}");

    private static string P(double v) => (100 * v).ToString("F1", CultureInfo.InvariantCulture);

    private static string D(double v) => v.ToString("F4", CultureInfo.InvariantCulture);

    private sealed record SeedScore(int Seed, double RecallAtOne, double MapAtR, int BestEpoch, double Seconds);

    private sealed record CellScore(CalibrationCell Cell, QuickstartOptions Options, IReadOnlyList<SeedScore> Runs)
    {
        public double MeanRecallAtOne => Runs.Average(r => r.RecallAtOne);
        public double MeanMapAtR => Runs.Average(r => r.MapAtR);
    }
}
