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
    public const string StudentStage = "2. baseline student: metric loss and learning rate";
    public const string BudgetStage = "3. student epochs (the baseline's; every student trains as long)";
    public const string WarmupStage = "4. student warm-up epochs (the baseline's; every student warms up as long)";
    public const string AbsoluteStage = "5. absolute teacher: lambda and the student's metric-loss weight";
    public const string RelativeStage = "6. relative teacher: lambda (per pair) and metric-loss weight";
    public const string RkdStage = "7. RKD: distance and angle weights and metric-loss weight";
    public const string CombinedStage = "8. absolute + relative together";
    public const string AveragingStage = "9. student weight averaging (the baseline's; every student averages alike)";
    public const string AveragedMethodsCheck = "10. the distilled students with the chosen averaging (a check: chooses nothing)";

    // The grid is sized to run in about an hour per calibration seed on one idle core: each cell is a full
    // training run, a teacher about 4 minutes, a student 1-3. The teacher's 20 epochs are fixed by the default run's
    // 10-minute budget; the students' epochs are searched only up to what that budget allows.

    /// <summary>Proxy-anchor at two rates.</summary>
    public static IEnumerable<CalibrationCell> Teachers() =>
        from cell in new[] { ("proxy-anchor", 5e-4), ("proxy-anchor", 1e-3) }
        select new CalibrationCell(TeacherStage, $"teacher-{cell.Item1}-lr{F(cell.Item2)}", CellKind.Teacher, null,
            o => o with { TeacherLoss = cell.Item1, TeacherLearningRate = cell.Item2 });

    public static IEnumerable<CalibrationCell> Students() =>
        from cell in new[] { ("multi-similarity", 3e-3), ("multi-similarity", 1e-2), ("multi-similarity", 3e-2), ("proxy-anchor", 1e-2) }
        select new CalibrationCell(StudentStage, $"baseline-{cell.Item1}-lr{F(cell.Item2)}", CellKind.Baseline, null,
            o => o with { StudentLoss = cell.Item1, StudentLearningRate = cell.Item2 });

    /// <summary>
    /// The students' training budget, chosen on the baseline: a distilled student is only better if it beats a baseline
    /// trained as long as it usefully can, so the budget is the baseline's best and every distilled student gets the same.
    /// </summary>
    /// <param name="studentEpochs">The budgets to compare (<see cref="QuickstartCalibration.DefaultBudgets"/>).</param>
    public static IEnumerable<CalibrationCell> Budget(IEnumerable<int> studentEpochs) =>
        from epochs in studentEpochs
        select new CalibrationCell(BudgetStage, $"baseline-e{epochs}", CellKind.Baseline, null, o => o with { StudentEpochs = epochs });

    /// <summary>The students' warm-up before the warm-up stage chooses one: what every run used before the stage existed.</summary>
    public const int UncalibratedWarmupEpochs = 1;

    /// <summary>The students' warm-up epochs the warm-up stage compares.</summary>
    public static readonly IReadOnlyList<int> WarmupEpochs = [UncalibratedWarmupEpochs, 3, 5, 10];

    /// <summary>
    /// The students' linear warm-up before the cosine decay, chosen on the baseline at the chosen budget and rate and given
    /// to every student, like the budget: a distilled student must beat a baseline trained as well as it can be. Warm-ups
    /// that leave no epoch of decay in <paramref name="studentEpochs"/> are skipped.
    /// </summary>
    /// <param name="studentEpochs">The chosen budget.</param>
    public static IEnumerable<CalibrationCell> Warmup(int studentEpochs) =>
        from epochs in WarmupEpochs
        where epochs < studentEpochs
        select new CalibrationCell(WarmupStage, $"baseline-w{epochs}", CellKind.Baseline, null, o => o with { StudentWarmupEpochs = epochs });

    /// <summary>
    /// The students' weight averaging (decay of the exponential moving average per step; 0: none), compared on the baseline
    /// at the chosen budget, rate and warm-up and given to every student, like them. About 23 steps make an epoch of the
    /// calibration's 30 training classes, so 0.99 averages over the last ~4 epochs and 0.995 over ~9. It comes last
    /// because it was added after the other stages had been run without it (they were not re-run with it).
    /// </summary>
    public static IEnumerable<CalibrationCell> Averaging() =>
        from decay in WeightAverages
        select new CalibrationCell(AveragingStage, decay == 0 ? "baseline-no-average" : $"baseline-average{F(decay)}", CellKind.Baseline, null,
            o => o with { StudentWeightAverage = decay });

    /// <summary>
    /// The quickstart's distilled students at their chosen options with the chosen averaging: whether they still beat the
    /// (averaged) baseline on validation, since their weights were chosen without averaging.
    /// </summary>
    public static IEnumerable<CalibrationCell> AveragedMethods(QuickstartOptions chosen) =>
        from method in chosen.Distill
        select new CalibrationCell(AveragedMethodsCheck, $"{method.Replace('+', '-')}-average{F(chosen.StudentWeightAverage)}", CellKind.Method, method, o => o);

    /// <summary>The decays the averaging stage compares (0: no averaging, what every earlier stage used).</summary>
    public static readonly IReadOnlyList<double> WeightAverages = [0, 0.99, 0.995];

    /// <summary>
    /// lambda 5 and 20 with the student's own metric loss (the paper's sum), and without it. Without the metric loss
    /// lambda only rescales the one loss, so lambda 5 and 20 there are the same training up to rounding.
    /// </summary>
    public static IEnumerable<CalibrationCell> Absolute() =>
        from cell in new[] { (5.0, 1.0), (20.0, 1.0), (5.0, 0.0), (20.0, 0.0) }
        select Method(AbsoluteStage, "absolute", $"lambda{F(cell.Item1)}-metric{F(cell.Item2)}", cell.Item2, o => o with { LambdaAbsolute = cell.Item1 });

    /// <summary>
    /// The per-pair relative term without the metric loss (lambda 300), and with it from the paper's own strength up:
    /// lambda 10 is the paper's CUB weight (0.3 on the Frobenius norm of a 32-image batch, = 0.3 x 32 per pair), a mild
    /// regulariser of the metric loss; 100 to 3000 let the teacher dominate; 1 and 3 extend the grid below 10, which
    /// scored best of the first grid at its lower edge. Without the metric loss lambda only rescales
    /// the one loss, which Adam's update does not see (up to its epsilon), so a second lambda there would only measure
    /// run-to-run noise.
    /// </summary>
    public static IEnumerable<CalibrationCell> Relative() =>
        from cell in new[] { (300.0, 0.0), (1.0, 1.0), (3.0, 1.0), (10.0, 1.0), (100.0, 1.0), (300.0, 1.0), (1000.0, 1.0), (3000.0, 1.0) }
        select Method(RelativeStage, "relative", $"lambda{F(cell.Item1)}-metric{F(cell.Item2)}", cell.Item2, o => o with { LambdaRelative = cell.Item1 });

    /// <summary>
    /// RKD with the metric loss at the authors' distance and angle weights (1, 2), and scaled up 10x and 100x: on
    /// L2-normalised 128-d embeddings the terms are about 100x smaller than on the authors' unnormalised ones. The 100x
    /// weights also without the metric loss.
    /// </summary>
    public static IEnumerable<CalibrationCell> Rkd() =>
        from cell in new[] { (1.0, 1.0), (10.0, 1.0), (100.0, 1.0), (100.0, 0.0) }
        select Method(RkdStage, "rkd", $"d{F(cell.Item1)}-a{F(2 * cell.Item1)}-metric{F(cell.Item2)}", cell.Item2,
            o => o with { LambdaRkdDistance = cell.Item1, LambdaRkdAngle = 2 * cell.Item1 });

    /// <summary>
    /// Both paper terms: the absolute term at its chosen lambda, the relative term at its own chosen lambda and at the
    /// paper's CUB weight (10 per pair; what the relative term is worth next to the absolute one need not be what it is
    /// worth alone), each with the two terms' chosen metric-loss weights.
    /// </summary>
    public static IEnumerable<CalibrationCell> Combined(QuickstartOptions chosen) =>
        from lambda in new[] { chosen.LambdaRelative, PaperRelativeLambdaPerPair }.Distinct()
        from weight in new[] { chosen.MetricWeightOf("absolute"), chosen.MetricWeightOf("relative") }.Distinct()
        select Method(CombinedStage, "absolute+relative", $"relative{F(lambda)}-metric{F(weight)}", weight, o => o with { LambdaRelativeCombined = lambda });

    /// <summary>The paper's CUB weight of the relative term (0.3 on the Frobenius norm of a 32-image batch), per pair.</summary>
    public const double PaperRelativeLambdaPerPair = 10.0;

    private static CalibrationCell Method(string stage, string method, string name, double metricWeight, Func<QuickstartOptions, QuickstartOptions> apply) =>
        new(stage, $"{method.Replace('+', '-')}-{name}", CellKind.Method, method,
            o => apply(o) with { DistilledMetricWeights = new Dictionary<string, double>(o.DistilledMetricWeights) { [method] = metricWeight } });

    internal static string F(double v) => v.ToString("0.####", CultureInfo.InvariantCulture);
}
