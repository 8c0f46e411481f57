using EmbeddingDistillation.Losses;
using EmbeddingDistillation.Networks;

namespace EmbeddingDistillation.Training;

/// <summary>One weighted distillation term of an objective.</summary>
/// <param name="Loss">The term.</param>
/// <param name="Weight">Its weight (the paper's lambda).</param>
public sealed record WeightedDistillationTerm(IDistillationLoss Loss, double Weight);

/// <summary>
/// What the trainer minimises: <c>L = w_m * L_metric + sum_k lambda_k * L_k(student, teacher)</c>.
/// The metric term applies to labelled samples only, so semi-supervised batches (unlabelled images) carry only
/// the distillation terms; the teacher is frozen (eval mode, no gradient).
/// </summary>
public sealed class TrainingObjective
{
    private TrainingObjective(IMetricLoss? metricLoss, double metricWeight, IEmbeddingNetwork? teacher, IReadOnlyList<WeightedDistillationTerm> terms)
    {
        if (metricLoss is null && terms.Count == 0)
            throw new ArgumentException("An objective needs a metric loss, distillation terms, or both.");
        if (terms.Count > 0 && teacher is null)
            throw new ArgumentException("Distillation terms need a teacher network.", nameof(teacher));
        if (double.IsNaN(metricWeight) || metricWeight < 0)
            throw new ArgumentOutOfRangeException(nameof(metricWeight), metricWeight, "The metric loss weight must be >= 0.");
        foreach (var t in terms)
            if (double.IsNaN(t.Weight) || t.Weight < 0)
                throw new ArgumentOutOfRangeException(nameof(terms), t.Weight, $"The weight of distillation term '{t.Loss.Name}' must be >= 0.");
        MetricLoss = metricLoss;
        MetricWeight = metricWeight;
        Teacher = teacher;
        DistillationTerms = terms;
        Combined = new DistillationObjective(metricLoss, terms.Select(t => new WeightedTerm(t.Loss, t.Weight)).ToArray())
        {
            StudentLossWeight = metricWeight,
        };
    }

    /// <summary>The same objective as the Losses layer's weighted sum, which computes it.</summary>
    internal DistillationObjective Combined { get; }

    /// <summary>The student's (or teacher's) own metric loss; null for pure distillation.</summary>
    public IMetricLoss? MetricLoss { get; }

    /// <summary>The metric loss weight (1 in the paper).</summary>
    public double MetricWeight { get; }

    /// <summary>The frozen teacher; null when there is no distillation term.</summary>
    public IEmbeddingNetwork? Teacher { get; }

    /// <summary>The weighted distillation terms.</summary>
    public IReadOnlyList<WeightedDistillationTerm> DistillationTerms { get; }

    /// <summary>A metric loss alone: training a teacher, or the student baseline.</summary>
    /// <param name="metricLoss">The loss.</param>
    public static TrainingObjective MetricOnly(IMetricLoss metricLoss)
    {
        ArgumentNullException.ThrowIfNull(metricLoss);
        return new TrainingObjective(metricLoss, 1.0, null, []);
    }

    /// <summary>The paper's objective: <c>L_metric + sum lambda_k L_k</c> against a frozen teacher.</summary>
    /// <param name="metricLoss">The student's own loss, or null for distillation terms only.</param>
    /// <param name="teacher">The frozen teacher.</param>
    /// <param name="terms">The weighted distillation terms.</param>
    public static TrainingObjective Distillation(IMetricLoss? metricLoss, IEmbeddingNetwork teacher, params WeightedDistillationTerm[] terms)
    {
        ArgumentNullException.ThrowIfNull(teacher);
        return new TrainingObjective(metricLoss, 1.0, teacher, terms);
    }

    /// <summary>Returns a copy with a different metric-loss weight.</summary>
    /// <param name="weight">The new weight.</param>
    public TrainingObjective WithMetricWeight(double weight) => new(MetricLoss, weight, Teacher, DistillationTerms);

    /// <summary>The student taps that the distillation terms read.</summary>
    internal IReadOnlyCollection<string> StudentTaps => DistillationTerms.SelectMany(t => t.Loss.StudentTaps).Distinct().ToArray();

    /// <summary>The teacher taps that the distillation terms read.</summary>
    internal IReadOnlyCollection<string> TeacherTaps => DistillationTerms.SelectMany(t => t.Loss.TeacherTaps).Distinct().ToArray();
}
