using System.Globalization;
using System.Text;
using EmbeddingDistillation.Evaluation;

namespace EmbeddingDistillation.Samples.PaperPipelines;

/// <summary>Writes the report folder: results.csv (the shared format), results.md, summary.txt, skipped-images.txt.</summary>
internal static class PaperReport
{
    public static void Write(PaperPipelineOptions o, PaperPreset preset, PaperRunPlan plan, PaperData data, IReadOnlyList<PaperRun> runs,
        IReadOnlyList<string> warnings, TextWriter log)
    {
        int imageSize = plan.ImageSize;
        var split = data.Split;
        var results = runs.Select(r => r.Result).ToArray();
        ResultsTable.Write(o.Report, results);
        var md = new StringBuilder();
        md.AppendLine($"# {preset.DisplayName}: distillation report").AppendLine();
        md.AppendLine($"Test classes: {split.Test.ClassCount:N0}, test images: {split.Test.Records.Count:N0}; crops {imageSize} px; " +
            $"Recall@K over {(o.SopQueries is int q ? $"{q:N0} random queries against the full test gallery" : "every test image as a query")}, self-match excluded.");
        if (o.CrossQuality) md.AppendLine("Cross-quality: the teacher is evaluated on clean test images, the students on degraded ones.");
        md.AppendLine().AppendLine($"Training: {plan.Reason}.");
        if (plan.DefaultedSizes.Count > 0) md.AppendLine($"Sizes from the {plan.Recipe.Name} recipe: {string.Join(", ", plan.DefaultedSizes)}.");
        foreach (var w in warnings) md.AppendLine().AppendLine($"> {w}");
        if (data.Skipped.Count > 0)
        {
            md.AppendLine().AppendLine($"> {data.Skipped.Count} corrupt image(s) were left out (--skip-corrupt-images), all listed in skipped-images.txt:");
            foreach (var p in data.Skipped.Take(20)) md.AppendLine($"> - `{p.Record.RelativePath}`: {p.Reason}");
            if (data.Skipped.Count > 20) md.AppendLine($"> - ... and {data.Skipped.Count - 20} more");
        }
        md.AppendLine().Append(ResultsTable.ToMarkdown(results, preset.RecallKs)).AppendLine();
        md.AppendLine("| run | steps | labelled | unlabelled | training images/s | training time (s) |").AppendLine("|---|---:|---:|---:|---:|---:|");
        foreach (var r in runs)
            md.AppendLine(r.Training is null
                ? $"| {r.Name} | {(r.Result.Role == ModelRole.Teacher && o.FreezeTeacher && o.Teacher == ImageNetTeacherOption.Name ? "frozen" : "loaded")} | - | - | - | - |"
                : $"| {r.Name} | {r.Training.Steps} | {r.LabelledSteps} | {r.UnlabelledSteps} | {r.Training.ImagesPerSecond.ToString("F1", CultureInfo.InvariantCulture)} | {r.Training.Elapsed.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture)} |");
        File.WriteAllText(Path.Combine(o.Report, "results.md"), md.ToString());
        File.WriteAllText(Path.Combine(o.Report, "summary.txt"), split.Summary());
        if (data.Skipped.Count > 0)
            File.WriteAllLines(Path.Combine(o.Report, SkippedImagesFile), data.Skipped.Select(p => $"{p.Path}\t{p.Reason}"));
        log.WriteLine($"Report written to {Path.GetFullPath(o.Report)} (results.csv, results.md, summary.txt{(data.Skipped.Count > 0 ? ", " + SkippedImagesFile : "")}).");
    }

    /// <summary>The corrupt images a run left out, one per line: path, tab, reason.</summary>
    public const string SkippedImagesFile = "skipped-images.txt";
}
