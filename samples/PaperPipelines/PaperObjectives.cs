using System.Globalization;
using EmbeddingDistillation.Losses;
using EmbeddingDistillation.Networks;
using EmbeddingDistillation.Training;

namespace EmbeddingDistillation.Samples.PaperPipelines;

/// <summary>
/// The objectives of the pipeline's runs from the recipe: the teacher's metric loss alone; for a student,
/// <c>baseline</c> is the students' metric loss alone and any other method is that loss (weighted by the method's
/// metric weight) plus its '+'-joined distillation terms (<c>relative+attention</c>), weighted by the plan.
/// </summary>
internal static class PaperObjectives
{
    /// <summary>The terms a method may combine.</summary>
    public static readonly IReadOnlyList<string> Terms = ["absolute", "relative", "rkd", "hint", "attention"];

    /// <summary>The metric losses a recipe may name.</summary>
    public static readonly IReadOnlyList<string> MetricLosses = ["triplet", "proxy-anchor", "multi-similarity"];

    /// <summary>
    /// A metric loss by name: <c>triplet</c> is the paper's (batch-hard, margin 0, plain Euclidean distance);
    /// <c>proxy-anchor</c> needs the training labels re-indexed to 0..<paramref name="classCount"/>-1 (<see cref="NeedsClassIndices"/>).
    /// </summary>
    public static IMetricLoss MetricLoss(string name, int classCount, int embeddingDimension) => name switch
    {
        "triplet" => new TripletLoss(),
        "proxy-anchor" => new ProxyAnchorLoss(classCount, embeddingDimension),
        "multi-similarity" => new MultiSimilarityLoss(),
        _ => throw new ArgumentException($"Unknown metric loss '{name}'; known: {string.Join(", ", MetricLosses)}.", nameof(name)),
    };

    /// <summary>Proxy-anchor keeps one proxy per class, indexed by the label.</summary>
    public static bool NeedsClassIndices(string name) => name == "proxy-anchor";

    /// <summary>Proxy-anchor's proxies learn at the recipe's multiplier of the rate.</summary>
    public static bool HasProxies(string name) => name == "proxy-anchor";

    public static TrainingObjective Teacher(PaperRunPlan plan, int classCount) =>
        TrainingObjective.MetricOnly(MetricLoss(plan.Recipe.TeacherLoss, classCount, plan.EmbeddingDimension));

    public static (TrainingObjective Objective, string Description) Student(string method, PaperRunPlan plan, int classCount,
        string? featureTaps, double hintWeight, double attentionWeight, EmbeddingNetwork teacher, EmbeddingNetwork student)
    {
        var metric = MetricLoss(plan.Recipe.StudentLoss, classCount, plan.EmbeddingDimension);
        if (method == "baseline") return (TrainingObjective.MetricOnly(metric), $"{metric.Name} loss alone (baseline)");
        double metricWeight = plan.MetricWeightOf(method);
        var terms = new List<WeightedDistillationTerm>();
        var parts = new List<string> { metricWeight == 1 ? metric.Name : $"{F(metricWeight)} * {metric.Name}" };
        FeatureTapPair? taps = null;
        FeatureTapPair Taps() => taps ??= FeatureTapPair.Select(teacher, student, featureTaps);
        void Add(IDistillationLoss loss, double weight, string what)
        {
            terms.Add(new WeightedDistillationTerm(loss, weight));
            parts.Add($"{F(weight)} * {what}");
        }
        foreach (var term in method.Split('+'))
        {
            switch (term)
            {
                case "absolute": Add(new AbsoluteTeacherLoss(), plan.AbsoluteWeight, "absolute"); break;
                case "relative":
                    var reduction = plan.Recipe.RelativeReduction;
                    Add(new RelativeTeacherLoss(new RelativeTeacherLossOptions { Reduction = reduction }), plan.RelativeWeight,
                        reduction == RelativeReduction.RootMeanSquare ? "relative (per pair: ||D_S - D_T||_F / N)" : "relative (||D_S - D_T||_F)");
                    break;
                case "rkd":
                    Add(new RkdDistanceLoss(), plan.RkdWeights.Distance, "rkd-distance");
                    Add(new RkdAngleLoss(), plan.RkdWeights.Angle, "rkd-angle");
                    break;
                case "hint":
                    var h = Taps();
                    Add(new HintLoss(h.Student.Channels, h.Teacher.Channels, new HintLossOptions { StudentTap = h.Student.Name, TeacherTap = h.Teacher.Name }),
                        hintWeight, $"hint[{h}]");
                    break;
                case "attention":
                    var a = Taps();
                    Add(new AttentionTransferLoss(new AttentionTapPair(a.Student.Name, a.Teacher.Name)), attentionWeight, $"attention[{a}]");
                    break;
                default:
                    throw new ArgumentException($"Unknown distillation term '{term}' in method '{method}'; known: {string.Join(", ", Terms)}.");
            }
        }
        return (TrainingObjective.Distillation(metric, teacher, terms.ToArray()).WithMetricWeight(metricWeight), string.Join(" + ", parts));
    }

    private static string F(double v) => v.ToString("G4", CultureInfo.InvariantCulture);
}
