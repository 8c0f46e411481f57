using System.Globalization;
using EmbeddingDistillation.Losses;
using EmbeddingDistillation.Networks;
using EmbeddingDistillation.Training;

namespace EmbeddingDistillation.Samples.PaperPipelines;

/// <summary>
/// The objectives of the pipeline's runs from the recipe, every loss made by name through the library's
/// <see cref="LossCatalog"/>: the teacher's metric loss alone; for a student, <c>baseline</c> is the students' metric
/// loss alone and any other method is that loss (weighted by the method's metric weight) plus its '+'-joined
/// distillation terms (<c>relative+attention</c>), weighted by the plan.
/// </summary>
internal static class PaperObjectives
{
    /// <summary>The terms a method may combine (<c>rkd</c> is the catalogue's <c>rkd-distance</c> and <c>rkd-angle</c>).</summary>
    public static readonly IReadOnlyList<string> Terms = ["absolute", "relative", "rkd", "hint", "attention"];

    /// <summary>
    /// A metric loss of the recipe by name, with the recipe's options for it (<see cref="TrainingRecipe.MetricLossOptions"/>).
    /// The training labels are class indices 0..<paramref name="classCount"/>-1 (<see cref="ClassIndexedDataset"/>), as proxy-anchor needs.
    /// </summary>
    public static IMetricLoss MetricLoss(TrainingRecipe recipe, string name, int classCount, int embeddingDimension) =>
        LossCatalog.CreateMetricLoss(name, new LossContext { ClassCount = classCount, EmbeddingDimension = embeddingDimension },
            recipe.MetricLossOptions.GetValueOrDefault(name));

    public static TrainingObjective Teacher(PaperRunPlan plan, int classCount) =>
        TrainingObjective.MetricOnly(MetricLoss(plan.Recipe, plan.Recipe.TeacherLoss, classCount, plan.EmbeddingDimension));

    public static (TrainingObjective Objective, string Description) Student(string method, PaperRunPlan plan, int classCount,
        string? featureTaps, double hintWeight, double attentionWeight, IEmbeddingNetwork teacher, EmbeddingNetwork student)
    {
        var metric = MetricLoss(plan.Recipe, plan.Recipe.StudentLoss, classCount, plan.EmbeddingDimension);
        if (method == "baseline") return (TrainingObjective.MetricOnly(metric), $"{metric.Name} loss alone (baseline)");
        double metricWeight = plan.MetricWeightOf(method);
        var terms = new List<WeightedDistillationTerm>();
        var parts = new List<string> { metricWeight == 1 ? metric.Name : $"{F(metricWeight)} * {metric.Name}" };
        FeatureTapPair? taps = null;
        LossContext Maps()
        {
            taps ??= FeatureTapPair.Select(teacher as EmbeddingNetwork ?? throw new ArgumentException(
                $"Hint and attention terms read the taps of an EmbeddingNetwork teacher; '{teacher.Name}' is a {teacher.GetType().Name} (--teacher-image-size does not go with hint or attention)."),
                student, featureTaps);
            return new LossContext
            {
                StudentChannels = taps.Student.Channels, TeacherChannels = taps.Teacher.Channels,
                Taps = new TapPair(taps.Student.Name, taps.Teacher.Name),
            };
        }
        void Add(string name, double weight, string what, LossContext? context = null, object? options = null)
        {
            terms.Add(new WeightedDistillationTerm(LossCatalog.CreateDistillationTerm(name, context, options), weight));
            parts.Add($"{F(weight)} * {what}");
        }
        foreach (var term in method.Split('+'))
        {
            switch (term)
            {
                case "absolute": Add("absolute", plan.AbsoluteWeight, "absolute"); break;
                case "relative":
                    var reduction = plan.Recipe.RelativeReduction;
                    Add("relative", plan.RelativeWeight,
                        reduction == RelativeReduction.RootMeanSquare ? "relative (per pair: ||D_S - D_T||_F / N)" : "relative (||D_S - D_T||_F)",
                        options: new RelativeTeacherLossOptions { Reduction = reduction });
                    break;
                case "rkd":
                    Add("rkd-distance", plan.RkdWeights.Distance, "rkd-distance");
                    Add("rkd-angle", plan.RkdWeights.Angle, "rkd-angle");
                    break;
                case "hint":
                    var h = Maps();
                    Add("hint", hintWeight, $"hint[{taps}]", h);
                    break;
                case "attention":
                    var a = Maps();
                    Add("attention", attentionWeight, $"attention[{taps}]", a);
                    break;
                default:
                    throw new ArgumentException($"Unknown distillation term '{term}' in method '{method}'; known: {string.Join(", ", Terms)}.");
            }
        }
        return (TrainingObjective.Distillation(metric, teacher, terms.ToArray()).WithMetricWeight(metricWeight), string.Join(" + ", parts));
    }

    private static string F(double v) => v.ToString("G4", CultureInfo.InvariantCulture);
}
