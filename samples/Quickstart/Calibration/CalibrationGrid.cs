using System.Globalization;

namespace EmbeddingDistillation.Samples.Quickstart.Calibration;

/// <summary>What one cell of the grid trains: the teacher, the baseline student, or a distilled method.</summary>
internal enum CellKind { Teacher, Baseline, Method }

/// <summary>One configuration of the calibration grid.</summary>
/// <param name="Stage">The stage it belongs to (the table it appears in).</param>
/// <param name="Name">A short, unique, file-safe name (the run folder's).</param>
/// <param name="Kind">What it trains.</param>
/// <param name="Method">For <see cref="CellKind.Method"/>: the distilled method (e.g. <c>absolute</c>, <c>absolute+relative</c>).</param>
/// <param name="Apply">The options of this configuration, from the choices made so far.</param>
internal sealed record CalibrationCell(string Stage, string Name, CellKind Kind, string? Method, Func<QuickstartOptions, QuickstartOptions> Apply);

/// <summary>
/// The quickstart's calibration grid, stage by stage. Each stage starts from the choices of the stages before it;
/// every cell is scored by validation Recall@1 (its best epoch) averaged over the calibration seeds.
/// </summary>
internal static class CalibrationGrid
{
    public const string TeacherStage = "1. teacher: metric loss and learning rate";
    public const string TeacherEpochsStage = "2. teacher: epochs";
    public const string StudentStage = "3. baseline student: metric loss and learning rate";
    public const string StudentEpochsStage = "4. students: epochs";
    public const string AbsoluteStage = "5. absolute teacher: lambda and the student's metric-loss weight";
    public const string RelativeStage = "6. relative teacher: lambda (per pair) and metric-loss weight";
    public const string RkdStage = "7. RKD: distance and angle weights and metric-loss weight";
    public const string CombinedStage = "8. absolute + relative together";

    /// <summary>Proxy-anchor at three rates, and multi-similarity (the students' loss) at the middle one.</summary>
    public static IEnumerable<CalibrationCell> Teachers() =>
        from cell in new[] { ("proxy-anchor", 5e-4), ("proxy-anchor", 1e-3), ("proxy-anchor", 2e-3), ("multi-similarity", 1e-3) }
        select new CalibrationCell(TeacherStage, $"teacher-{cell.Item1}-lr{F(cell.Item2)}", CellKind.Teacher, null,
            o => o with { TeacherLoss = cell.Item1, TeacherLearningRate = cell.Item2 });

    public static IEnumerable<CalibrationCell> TeacherEpochs(int chosen) =>
        new[] { chosen, chosen + chosen / 2 }.Select(e => new CalibrationCell(TeacherEpochsStage, $"teacher-epochs{e}", CellKind.Teacher, null,
            o => o with { TeacherEpochs = e }));

    public static IEnumerable<CalibrationCell> Students() =>
        from cell in new[] { ("multi-similarity", 3e-3), ("multi-similarity", 1e-2), ("proxy-anchor", 3e-3), ("proxy-anchor", 1e-2), ("triplet", 1e-2) }
        select new CalibrationCell(StudentStage, $"baseline-{cell.Item1}-lr{F(cell.Item2)}", CellKind.Baseline, null,
            o => o with { StudentLoss = cell.Item1, StudentLearningRate = cell.Item2 });

    /// <summary>Fewer and as many epochs, not more: five students must fit the default run's 10-minute budget on 2 cores.</summary>
    public static IEnumerable<CalibrationCell> StudentEpochs(int chosen) =>
        new[] { chosen * 2 / 3, chosen }.Select(e => new CalibrationCell(StudentEpochsStage, $"baseline-epochs{e}", CellKind.Baseline, null,
            o => o with { StudentEpochs = e }));

    public static IEnumerable<CalibrationCell> Absolute() =>
        from lambda in new[] { 2.0, 5.0, 20.0 }
        from weight in new[] { 1.0, 0.0 }
        select Method(AbsoluteStage, "absolute", $"lambda{F(lambda)}-metric{F(weight)}", weight, o => o with { LambdaAbsolute = lambda });

    public static IEnumerable<CalibrationCell> Relative() =>
        from lambda in new[] { 300.0, 1000.0 }
        from weight in new[] { 1.0, 0.3, 0.0 }
        select Method(RelativeStage, "relative", $"lambda{F(lambda)}-metric{F(weight)}", weight, o => o with { LambdaRelative = lambda });

    public static IEnumerable<CalibrationCell> Rkd() =>
        from pair in new[] { (1.0, 2.0), (25.0, 50.0), (100.0, 200.0) }
        from weight in new[] { 1.0, 0.0 }
        select Method(RkdStage, "rkd", $"d{F(pair.Item1)}-a{F(pair.Item2)}-metric{F(weight)}", weight,
            o => o with { LambdaRkdDistance = pair.Item1, LambdaRkdAngle = pair.Item2 });

    /// <summary>Both paper terms at their own chosen lambdas, with each of their chosen metric-loss weights.</summary>
    public static IEnumerable<CalibrationCell> Combined(QuickstartOptions chosen) =>
        new[] { chosen.MetricWeightOf("absolute"), chosen.MetricWeightOf("relative") }.Distinct()
            .Select(weight => Method(CombinedStage, "absolute+relative", $"metric{F(weight)}", weight, o => o));

    private static CalibrationCell Method(string stage, string method, string name, double metricWeight, Func<QuickstartOptions, QuickstartOptions> apply) =>
        new(stage, $"{method.Replace('+', '-')}-{name}", CellKind.Method, method,
            o => apply(o) with { DistilledMetricWeights = new Dictionary<string, double>(o.DistilledMetricWeights) { [method] = metricWeight } });

    internal static string F(double v) => v.ToString("0.####", CultureInfo.InvariantCulture);
}
