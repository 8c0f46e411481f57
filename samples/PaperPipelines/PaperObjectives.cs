using System.Globalization;
using EmbeddingDistillation.Losses;
using EmbeddingDistillation.Networks;
using EmbeddingDistillation.Training;

namespace EmbeddingDistillation.Samples.PaperPipelines;

/// <summary>
/// The objective of a student run from its method name: <c>baseline</c> is the triplet loss alone; any other method is
/// the triplet loss plus its '+'-joined distillation terms (<c>relative+attention</c>), weighted by the options.
/// </summary>
internal static class PaperObjectives
{
    /// <summary>The terms a method may combine.</summary>
    public static readonly IReadOnlyList<string> Terms = ["absolute", "relative", "rkd", "hint", "attention"];

    public static (TrainingObjective Objective, string Description) Create(string method, PaperPipelineOptions o, PaperPreset preset,
        EmbeddingNetwork teacher, EmbeddingNetwork student)
    {
        if (method == "baseline") return (TrainingObjective.MetricOnly(new TripletLoss()), "triplet loss alone (baseline)");
        var terms = new List<WeightedDistillationTerm>();
        var parts = new List<string> { "triplet" };
        FeatureTapPair? taps = null;
        FeatureTapPair Taps() => taps ??= FeatureTapPair.Select(teacher, student, o.FeatureTaps);
        void Add(IDistillationLoss loss, double weight, string what)
        {
            terms.Add(new WeightedDistillationTerm(loss, weight));
            parts.Add($"{weight.ToString("G4", CultureInfo.InvariantCulture)} * {what}");
        }
        foreach (var term in method.Split('+'))
        {
            switch (term)
            {
                case "absolute": Add(new AbsoluteTeacherLoss(), o.AbsoluteWeight ?? preset.AbsoluteWeight, "absolute"); break;
                case "relative": Add(new RelativeTeacherLoss(), o.RelativeWeight ?? preset.RelativeWeight, "relative"); break;
                case "rkd":
                    Add(new RkdDistanceLoss(), o.RkdWeights.Distance, "rkd-distance");
                    Add(new RkdAngleLoss(), o.RkdWeights.Angle, "rkd-angle");
                    break;
                case "hint":
                    var h = Taps();
                    Add(new HintLoss(h.Student.Channels, h.Teacher.Channels, new HintLossOptions { Taps = new TapPair(h.Student.Name, h.Teacher.Name) }),
                        o.HintWeight, $"hint[{h}]");
                    break;
                case "attention":
                    var a = Taps();
                    Add(new AttentionTransferLoss(new TapPair(a.Student.Name, a.Teacher.Name)), o.AttentionWeight, $"attention[{a}]");
                    break;
                default:
                    throw new ArgumentException($"Unknown distillation term '{term}' in method '{method}'; known: {string.Join(", ", Terms)}.");
            }
        }
        return (TrainingObjective.Distillation(new TripletLoss(), teacher, terms.ToArray()), string.Join(" + ", parts));
    }
}
