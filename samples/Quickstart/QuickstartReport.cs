using System.Globalization;
using EmbeddingDistillation.Data;
using EmbeddingDistillation.Evaluation;
using EmbeddingDistillation.Export;
using Spectre.Console;

namespace EmbeddingDistillation.Samples.Quickstart;

/// <summary>The quickstart's console table, verdict and deploy step.</summary>
internal static class QuickstartReport
{
    public static void PrintTable(IAnsiConsole console, IReadOnlyList<ModelResult> results)
    {
        var table = new Table().Title("Test classes (never seen in training or selection)");
        foreach (var c in new[] { "model", "role", "R@1", "R@2", "R@4", "R@8", "MAP@R", "params", "MACs", "ms/img" }) table.AddColumn(c);
        foreach (var r in results)
            table.AddRow(r.Model, ResultsTable.RoleName(r.Role), P(r.RecallAtK[1]), P(r.RecallAtK[2]), P(r.RecallAtK[4]), P(r.RecallAtK[8]),
                P(r.MapAtR), r.Parameters.ToString("N0", CultureInfo.InvariantCulture), r.Macs.ToString("N0", CultureInfo.InvariantCulture),
                r.LatencyMs.ToString("F2", CultureInfo.InvariantCulture));
        console.Write(table);
        static string P(double v) => (100 * v).ToString("F1", CultureInfo.InvariantCulture);
    }

    public static void PrintVerdict(IAnsiConsole console, IReadOnlyList<ModelResult> results)
    {
        var teacher = results.First(r => r.Role == ModelRole.Teacher).RecallAtK[1];
        var baseline = results.FirstOrDefault(r => r.Role == ModelRole.Baseline)?.RecallAtK[1];
        if (baseline is null) return;
        foreach (var r in results.Where(r => r.Role == ModelRole.Distilled))
        {
            double gain = r.RecallAtK[1] - baseline.Value;
            double closed = teacher > baseline ? gain / (teacher - baseline.Value) : double.NaN;
            console.MarkupLine($"  {r.Model}: R@1 {100 * r.RecallAtK[1]:F1} vs baseline {100 * baseline:F1} ({(gain >= 0 ? "+" : "")}{100 * gain:F1} points; closes {closed:P0} of the teacher-baseline gap)");
        }
    }

    /// <summary>
    /// One finding per distilled student whose best validation Recall@1 is below the baseline's. It is a warning (the
    /// method did not help on this data) only when the gap exceeds twice the standard error of a difference of two
    /// recalls on <paramref name="validationQueries"/> queries, sqrt((p_b (1 - p_b) + p_s (1 - p_s)) / n); a smaller gap
    /// is a note that the validation classes cannot tell the two apart. (With 10 validation classes, 500 queries, the
    /// standard error is about 2 points; a student 0.2 points below the baseline on validation led it by 4 on test.)
    /// Nothing when the baseline did not run or a score is missing.
    /// </summary>
    public static IEnumerable<ValidationFinding> BelowBaselineOnValidation(IReadOnlyList<TrainedStudent> students, int validationQueries)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(validationQueries, 1);
        var baseline = students.FirstOrDefault(s => s.Role == ModelRole.Baseline)?.Validation;
        if (baseline is not { } b) yield break;
        foreach (var s in students.Where(s => s.Role == ModelRole.Distilled && s.Validation is not null && s.Validation < b))
        {
            var v = s.Validation!.Value;
            var gap = b - v;
            var standardError = Math.Sqrt((b * (1 - b) + v * (1 - v)) / validationQueries);
            var scores = $"best validation R@1 {F(v)} against {F(b)}, {P(gap)} points below";
            var noise = $"the {P(standardError)}-point standard error of a difference on {validationQueries} validation queries";
            yield return gap > 2 * standardError
                ? new ValidationFinding($"{s.Name} scored below the baseline on the validation classes ({scores}, more than twice " +
                    $"{noise}): on this data the method does not help; prefer the baseline or another method.", IsWarning: true)
                : new ValidationFinding($"{s.Name} scored below the baseline on the validation classes ({scores}), within twice " +
                    $"{noise}: the validation classes cannot tell the two apart.", IsWarning: false);
        }
        static string F(double v) => (100 * v).ToString("F1", CultureInfo.InvariantCulture) + "%";
        static string P(double v) => (100 * v).ToString("F1", CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Exports the best distilled student (by validation) to ONNX, indexes the test images and draws a grid of a few
    /// queries with their top results.
    /// </summary>
    public static void Deploy(IAnsiConsole console, QuickstartOptions o, IReadOnlyList<TrainedStudent> students, DatasetView test,
        SyntheticFineGrainedDataset dataset, CancellationToken ct)
    {
        var best = students.Where(s => s.Role == ModelRole.Distilled).OrderByDescending(s => s.Validation ?? double.MinValue).FirstOrDefault();
        if (best is null) return;
        var onnx = OnnxExporter.Export(best.Network, Path.Combine(o.Report, "student.onnx"));
        using var index = EmbeddingIndex.Build(best.Network, test, cancellationToken: ct);
        index.Save(Path.Combine(o.Report, "student-test.edidx"));
        var (correct, hits) = RetrievalGrid.Write(Path.Combine(o.Report, "index-grid.png"), best.Network, index, test, dataset,
            queries: 6, k: 6, seed: o.Seed);
        console.MarkupLine($"Best distilled student by validation: {best.Name}; exported student.onnx (opset {onnx.Opset}, {onnx.Bytes:N0} bytes), " +
            $"indexed {index.Count} test images, index-grid.png: {correct} of {hits} results share the query's class.");
    }
}

/// <summary>What the validation check found about one distilled student: a warning, or a note that the gap is noise.</summary>
internal sealed record ValidationFinding(string Message, bool IsWarning);
