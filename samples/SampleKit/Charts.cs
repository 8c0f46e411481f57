using EmbeddingDistillation.Evaluation;
using EmbeddingDistillation.Training;

namespace EmbeddingDistillation.Samples;

/// <summary>PNG charts of a distillation report (ScottPlot).</summary>
public static class Charts
{
    /// <summary>One line per run: mean training loss per epoch.</summary>
    public static void TrainingCurves(string path, IReadOnlyList<(string Name, TrainingResult Result)> runs)
    {
        var plot = new ScottPlot.Plot();
        foreach (var (name, result) in runs)
        {
            if (result.History.Count == 0) continue;
            var xs = result.History.Select(h => (double)h.Epoch + 1).ToArray();
            var ys = result.History.Select(h => h.Loss).ToArray();
            var line = plot.Add.Scatter(xs, ys);
            line.LegendText = name;
        }
        plot.Title("Training loss per epoch");
        plot.XLabel("epoch");
        plot.YLabel("mean weighted loss");
        plot.ShowLegend();
        plot.SavePng(path, 900, 550);
    }

    /// <summary>One line per model: Recall@K against K (log2 axis positions).</summary>
    public static void RecallAtK(string path, IReadOnlyList<ModelResult> results)
    {
        var plot = new ScottPlot.Plot();
        foreach (var r in results)
        {
            var ks = r.RecallAtK.Keys.OrderBy(k => k).ToArray();
            var xs = ks.Select(k => Math.Log2(k)).ToArray();
            var ys = ks.Select(k => 100 * r.RecallAtK[k]).ToArray();
            var line = plot.Add.Scatter(xs, ys);
            line.LegendText = $"{r.Model} ({ResultsTable.RoleName(r.Role)})";
        }
        var allKs = results.SelectMany(r => r.RecallAtK.Keys).Distinct().OrderBy(k => k).ToArray();
        plot.Axes.Bottom.SetTicks(allKs.Select(k => Math.Log2(k)).ToArray(), allKs.Select(k => k.ToString()).ToArray());
        plot.Title("Recall@K on the held-out test classes");
        plot.XLabel("K");
        plot.YLabel("Recall@K (%)");
        plot.ShowLegend();
        plot.SavePng(path, 900, 550);
    }
}
