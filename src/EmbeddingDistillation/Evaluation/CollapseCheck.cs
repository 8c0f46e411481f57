using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Evaluation;

/// <summary>
/// Whether a trained network's embeddings carry information: retrieval within <see cref="NearChanceFactor"/> of
/// chance, or every embedding crowded into one spot (a collapsed embedding, as batch-hard triplet with margin 0 gives
/// from scratch). Samples print <see cref="Warning"/> after every run; <see cref="RetrievalValidator"/> reports the
/// inputs (<c>chance@1</c>, <c>spread</c>) with every validation.
/// </summary>
public sealed class CollapseCheck
{
    internal CollapseCheck(double RecallAtOne, double ChanceRecallAtOne, double Spread)
    {
        this.RecallAtOne = RecallAtOne;
        this.ChanceRecallAtOne = ChanceRecallAtOne;
        this.Spread = Spread;
    }

    /// <summary>The measured Recall@1.</summary>
    public double RecallAtOne { get; }

    /// <summary>Recall@1 of random embeddings on the same labels (<see cref="ChanceOf"/>).</summary>
    public double ChanceRecallAtOne { get; }

    /// <summary>Mean pairwise distance over sqrt(2) x the RMS norm (<see cref="SpreadOf"/>): about 1 for spread embeddings, 0 for collapsed ones.</summary>
    public double Spread { get; }

    /// <summary>Recall@1 below this many times chance counts as near chance (2).</summary>
    internal const double NearChanceFactor = 2;

    /// <summary>A spread below this counts as collapsed (0.05: all pairwise distances 20x smaller than spread embeddings').</summary>
    internal const double CollapsedSpread = 0.05;

    /// <summary>True when Recall@1 is below <see cref="NearChanceFactor"/> times chance.</summary>
    public bool NearChance => RecallAtOne < NearChanceFactor * ChanceRecallAtOne;

    /// <summary>True when the spread is below <see cref="CollapsedSpread"/>.</summary>
    public bool SpreadCollapsed => !(Spread >= CollapsedSpread);

    /// <summary>True when either sign of a collapse shows.</summary>
    public bool Collapsed => NearChance || SpreadCollapsed;

    /// <summary>A loud one-line warning naming the run and the measured values, or null when nothing is wrong.</summary>
    /// <param name="run">The run's name.</param>
    /// <param name="on">What was measured, e.g. "validation classes".</param>
    public string? Warning(string run, string on)
    {
        if (!Collapsed) return null;
        var reasons = new List<string>();
        if (NearChance) reasons.Add($"Recall@1 {F(RecallAtOne)} is within {NearChanceFactor.ToString(CultureInfo.InvariantCulture)}x of chance ({F(ChanceRecallAtOne)})");
        if (SpreadCollapsed) reasons.Add($"its embeddings have collapsed (spread {F(Spread)}, below {F(CollapsedSpread)}; about 1 when spread)");
        return $"WARNING: run '{run}' learned nothing usable on the {on}: {string.Join("; ", reasons)}. " +
            "Typical causes: training from scratch with the paper's recipe (batch-hard triplet, margin 0), a learning rate too low or too high (docs/evaluation.md, \"Collapse\").";
    }

    /// <summary>Measures Recall@1's chance level and the spread of <paramref name="embeddings"/>.</summary>
    /// <param name="embeddings">Embeddings [N, D].</param>
    /// <param name="labels">Labels [N].</param>
    /// <param name="recallAtOne">Their measured Recall@1.</param>
    public static CollapseCheck Measure(Tensor embeddings, Tensor labels, double recallAtOne)
        => new(recallAtOne, ChanceOf(labels), SpreadOf(embeddings));

    /// <summary>Reads a check from validation metrics that include <c>recall@1</c>, <c>chance@1</c> and <c>spread</c>; null when any is missing.</summary>
    /// <param name="metrics">E.g. <see cref="Training.ValidationRecord.Metrics"/>.</param>
    public static CollapseCheck? FromMetrics(IReadOnlyDictionary<string, double> metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        return metrics.TryGetValue("recall@1", out var r1) && metrics.TryGetValue("chance@1", out var chance) && metrics.TryGetValue("spread", out var spread)
            ? new CollapseCheck(r1, chance, spread)
            : null;
    }

    /// <summary>
    /// Recall@1 of embeddings that carry no information: a query's nearest neighbour is then a uniformly random other
    /// sample, of its class with probability (n_c - 1) / (N - 1); the mean over queries.
    /// </summary>
    /// <param name="labels">Labels [N], N &gt;= 2.</param>
    internal static double ChanceOf(Tensor labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var values = labels.cpu().to_type(ScalarType.Int64).data<long>().ToArray();
        if (values.Length < 2) throw new ArgumentException($"Chance level needs at least 2 labels; got {values.Length}.", nameof(labels));
        var counts = values.GroupBy(v => v).ToDictionary(g => g.Key, g => (double)g.Count());
        return values.Average(v => (counts[v] - 1) / (values.Length - 1));
    }

    /// <summary>
    /// The mean pairwise Euclidean distance divided by sqrt(2) times the RMS norm: 1 for orthogonal embeddings of equal
    /// norm, about 1 for spread ones, 0 when all coincide. At most <paramref name="maxRows"/> evenly spaced rows are used.
    /// </summary>
    /// <param name="embeddings">Embeddings [N, D], N &gt;= 2.</param>
    /// <param name="maxRows">Row budget (default 2,048: 4 M distances).</param>
    internal static double SpreadOf(Tensor embeddings, int maxRows = 2048)
    {
        ArgumentNullException.ThrowIfNull(embeddings);
        if (embeddings.dim() != 2 || embeddings.shape[0] < 2)
            throw new ArgumentException($"Spread needs embeddings [N >= 2, D]; got [{string.Join(", ", embeddings.shape)}].", nameof(embeddings));
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var x = embeddings.detach().to_type(ScalarType.Float64);
        long n = x.shape[0];
        if (n > maxRows) x = x.index_select(0, linspace(0, n - 1, maxRows, dtype: ScalarType.Float64).round().to_type(ScalarType.Int64).to(x.device));
        long m = x.shape[0];
        double rms = x.square().sum(1).mean().sqrt().ToDouble();
        if (!(rms > 0)) return 0;
        var d = cdist(x, x);
        double meanDistance = d.sum().ToDouble() / (m * (m - 1));
        return meanDistance / (Math.Sqrt(2) * rms);
    }

    private static string F(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);
}
