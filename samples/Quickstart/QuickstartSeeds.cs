using System.Globalization;
using System.Text;
using EmbeddingDistillation.Evaluation;
using EmbeddingDistillation.Samples.Runs;
using Spectre.Console;

namespace EmbeddingDistillation.Samples.Quickstart;

/// <summary>
/// <c>--seeds 2,3,4</c>: the whole quickstart once per dataset seed (each in <c>REPORT/seed-N</c>, resumable), then
/// <c>summary.md</c>/<c>summary.csv</c>: every model's test Recall@1 and MAP@R as mean ± standard deviation over the
/// seeds, each distilled method's gain over the baseline and the share of the teacher-baseline gap it closes, and on
/// how many seeds it beat the baseline.
/// </summary>
internal sealed class QuickstartSeeds(QuickstartOptions o, IAnsiConsole? console = null, TrainingRunner? runner = null)
{
    public static readonly SampleOutputs Outputs = new(["summary.md", "summary.csv"], []);

    private readonly IAnsiConsole console = console ?? AnsiConsole.Console;

    public int Execute(CancellationToken ct)
    {
        foreach (var line in ReportFolder.Prepare(o.Report, o.RunSettings(), o.Resume, o.Overwrite, Outputs))
            console.MarkupLine(Markup.Escape(line));
        var perSeed = new List<(int Seed, IReadOnlyList<ModelResult> Results)>();
        foreach (var seed in o.Seeds)
        {
            console.MarkupLine($"[bold]Seed {seed}[/]");
            var folder = Path.Combine(o.Report, $"seed-{seed}");
            var run = new QuickstartRun(o with { Seed = seed, Seeds = [], Report = folder, Resume = o.Resume && Directory.Exists(folder) }, console, runner);
            perSeed.Add((seed, run.ExecuteAndReturnResults(ct)));
        }
        var summary = Summarise(perSeed);
        File.WriteAllText(Path.Combine(o.Report, "summary.md"), summary.Markdown);
        File.WriteAllText(Path.Combine(o.Report, "summary.csv"), summary.Csv);
        console.WriteLine(summary.Markdown);
        return 0;
    }

    internal static (string Markdown, string Csv) Summarise(IReadOnlyList<(int Seed, IReadOnlyList<ModelResult> Results)> perSeed)
    {
        var seeds = perSeed.Select(p => p.Seed).ToArray();
        var models = perSeed[0].Results.Select(r => r.Model).ToArray();
        double R1(int i, string model) => perSeed[i].Results.First(r => r.Model == model).RecallAtK[1];
        double Map(int i, string model) => perSeed[i].Results.First(r => r.Model == model).MapAtR;
        var teacher = perSeed[0].Results.First(r => r.Role == ModelRole.Teacher).Model;
        var baseline = perSeed[0].Results.FirstOrDefault(r => r.Role == ModelRole.Baseline)?.Model;

        var md = new StringBuilder();
        md.AppendLine($"# Quickstart over dataset seeds {string.Join(", ", seeds)} (test classes)").AppendLine();
        md.AppendLine("Mean ± standard deviation over the seeds (sample standard deviation, n - 1).").AppendLine();
        md.AppendLine("| model | R@1 | MAP@R | " + string.Join(" | ", seeds.Select(s => $"R@1 seed {s}")) + " |");
        md.AppendLine("|---|---:|---:|" + string.Concat(seeds.Select(_ => "---:|")));
        var csv = new StringBuilder("model,metric,mean,std," + string.Join(",", seeds.Select(s => $"seed_{s}")) + "\n");
        foreach (var m in models)
        {
            var r1 = seeds.Select((_, i) => R1(i, m)).ToArray();
            var map = seeds.Select((_, i) => Map(i, m)).ToArray();
            md.AppendLine($"| {m} | {Pm(r1)} | {Pm(map)} | {string.Join(" | ", r1.Select(P))} |");
            csv.AppendLine($"{m},recall_at_1,{D(Mean(r1))},{D(Std(r1))},{string.Join(",", r1.Select(D))}");
            csv.AppendLine($"{m},map_at_r,{D(Mean(map))},{D(Std(map))},{string.Join(",", map.Select(D))}");
        }
        if (baseline is not null)
        {
            md.AppendLine().AppendLine("| distilled student | R@1 gain over the baseline | share of the teacher-baseline gap closed | seeds above the baseline |");
            md.AppendLine("|---|---:|---:|---:|");
            foreach (var m in perSeed[0].Results.Where(r => r.Role == ModelRole.Distilled).Select(r => r.Model))
            {
                var gain = seeds.Select((_, i) => R1(i, m) - R1(i, baseline)).ToArray();
                var closed = seeds.Select((_, i) => (R1(i, m) - R1(i, baseline)) / (R1(i, teacher) - R1(i, baseline))).ToArray();
                md.AppendLine($"| {m} | {Pm(gain, signed: true)} points | {Pct(Mean(closed))} ± {Pct(Std(closed))} | {gain.Count(g => g > 0)} of {seeds.Length} |");
                csv.AppendLine($"{m},gain_recall_at_1,{D(Mean(gain))},{D(Std(gain))},{string.Join(",", gain.Select(D))}");
                csv.AppendLine($"{m},gap_closed,{D(Mean(closed))},{D(Std(closed))},{string.Join(",", closed.Select(D))}");
            }
        }
        return (md.ToString(), csv.ToString());
    }

    private static double Mean(double[] v) => v.Average();

    private static double Std(double[] v) => v.Length < 2 ? 0 : Math.Sqrt(v.Sum(x => (x - v.Average()) * (x - v.Average())) / (v.Length - 1));

    private static string P(double v) => (100 * v).ToString("F1", CultureInfo.InvariantCulture);

    private static string Pm(double[] v, bool signed = false) =>
        (signed && Mean(v) >= 0 ? "+" : "") + $"{P(Mean(v))} ± {P(Std(v))}";

    private static string Pct(double v) => (100 * v).ToString("F0", CultureInfo.InvariantCulture) + "%";

    private static string D(double v) => v.ToString("F6", CultureInfo.InvariantCulture);
}
