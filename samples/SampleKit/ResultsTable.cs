using System.Globalization;
using System.Text;

namespace EmbeddingDistillation.Samples;

/// <summary>The role of a model in a distillation report.</summary>
public enum ModelRole
{
    /// <summary>The large network that teaches.</summary>
    Teacher,
    /// <summary>The compact network trained with its metric loss alone.</summary>
    Baseline,
    /// <summary>The compact network trained with distillation terms.</summary>
    Distilled,
}

/// <summary>One row of a distillation report: retrieval quality and cost of one trained model.</summary>
/// <param name="Model">The model's name (e.g. <c>student-absolute</c>).</param>
/// <param name="Role">Teacher, baseline or distilled.</param>
/// <param name="RecallAtK">Recall@K as fractions, by K.</param>
/// <param name="MapAtR">MAP@R.</param>
/// <param name="Parameters">Parameter count.</param>
/// <param name="Macs">Multiply-accumulates per image at the evaluated input size.</param>
/// <param name="LatencyMs">Measured inference latency per image, milliseconds.</param>
public sealed record ModelResult(string Model, ModelRole Role, IReadOnlyDictionary<int, double> RecallAtK, double MapAtR, long Parameters, long Macs, double LatencyMs);

/// <summary>
/// Writes distillation reports in the format shared by the quickstart and the paper pipelines: <c>results.csv</c>
/// with exactly the header <see cref="CsvHeader"/> (recalls as fractions) and a Markdown table.
/// </summary>
public static class ResultsTable
{
    /// <summary>The K values of the CSV's recall columns.</summary>
    public static readonly int[] CsvRecallKs = [1, 2, 4, 8];

    /// <summary>The exact header of <c>results.csv</c>.</summary>
    public const string CsvHeader = "model,role,recall_at_1,recall_at_2,recall_at_4,recall_at_8,map_at_r,parameters,macs,latency_ms";

    /// <summary>The CSV text: the header and one row per model.</summary>
    /// <param name="results">The rows.</param>
    public static string ToCsv(IEnumerable<ModelResult> results)
    {
        var sb = new StringBuilder(CsvHeader).Append('\n');
        foreach (var r in results)
        {
            if (r.Model.Contains(',') || r.Model.Contains('"'))
                throw new ArgumentException($"Model name '{r.Model}' must not contain commas or quotes.", nameof(results));
            sb.Append(r.Model).Append(',').Append(RoleName(r.Role));
            foreach (var k in CsvRecallKs) sb.Append(',').Append(F(Recall(r, k)));
            sb.Append(',').Append(F(r.MapAtR)).Append(',').Append(r.Parameters.ToString(CultureInfo.InvariantCulture))
              .Append(',').Append(r.Macs.ToString(CultureInfo.InvariantCulture)).Append(',')
              .Append(r.LatencyMs.ToString("F4", CultureInfo.InvariantCulture)).Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>A Markdown table: Recall@K in percent for the given Ks, MAP@R, parameters, MACs, latency.</summary>
    /// <param name="results">The rows.</param>
    /// <param name="ks">The Recall@K columns (default 1, 2, 4, 8).</param>
    public static string ToMarkdown(IEnumerable<ModelResult> results, IReadOnlyList<int>? ks = null)
    {
        ks ??= CsvRecallKs;
        var sb = new StringBuilder("| model | role | ");
        sb.Append(string.Join(" | ", ks.Select(k => $"R@{k}"))).Append(" | MAP@R | params | MACs | latency (ms/img) |\n|---|---|");
        sb.Append(string.Concat(ks.Select(_ => "---:|"))).Append("---:|---:|---:|---:|\n");
        foreach (var r in results)
        {
            sb.Append($"| {r.Model} | {RoleName(r.Role)} | ");
            sb.Append(string.Join(" | ", ks.Select(k => (100 * Recall(r, k)).ToString("F1", CultureInfo.InvariantCulture))));
            sb.Append($" | {(100 * r.MapAtR).ToString("F1", CultureInfo.InvariantCulture)} | {Human(r.Parameters)} | {Human(r.Macs)} | {r.LatencyMs.ToString("F2", CultureInfo.InvariantCulture)} |\n");
        }
        return sb.ToString();
    }

    /// <summary>Writes <c>results.csv</c> and <c>results.md</c> into <paramref name="folder"/>.</summary>
    /// <param name="folder">The report folder (created if missing).</param>
    /// <param name="results">The rows.</param>
    public static void Write(string folder, IReadOnlyList<ModelResult> results)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "results.csv"), ToCsv(results));
        File.WriteAllText(Path.Combine(folder, "results.md"), ToMarkdown(results));
    }

    /// <summary>The CSV role name: <c>teacher</c>, <c>baseline</c> or <c>distilled</c>.</summary>
    /// <param name="role">The role.</param>
    public static string RoleName(ModelRole role) => role switch
    {
        ModelRole.Teacher => "teacher",
        ModelRole.Baseline => "baseline",
        _ => "distilled",
    };

    private static double Recall(ModelResult r, int k)
        => r.RecallAtK.TryGetValue(k, out var v) ? v : throw new ArgumentException($"Model '{r.Model}' has no Recall@{k}.");

    private static string F(double v) => v.ToString("F6", CultureInfo.InvariantCulture);

    private static string Human(long n) => n switch
    {
        >= 1_000_000_000 => (n / 1e9).ToString("F2", CultureInfo.InvariantCulture) + "G",
        >= 1_000_000 => (n / 1e6).ToString("F2", CultureInfo.InvariantCulture) + "M",
        >= 1_000 => (n / 1e3).ToString("F1", CultureInfo.InvariantCulture) + "K",
        _ => n.ToString(CultureInfo.InvariantCulture),
    };
}
