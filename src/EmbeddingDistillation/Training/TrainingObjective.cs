using System.Globalization;
using EmbeddingDistillation.Losses;
using EmbeddingDistillation.Networks;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Training;

/// <summary>One weighted distillation term of an objective.</summary>
/// <param name="Loss">The term.</param>
/// <param name="Weight">Its weight (the paper's lambda, e.g. 1.0 absolute / 0.3 relative on CUB), finite and &gt;= 0.</param>
public sealed record WeightedDistillationTerm(IDistillationLoss Loss, double Weight);

/// <summary>
/// What the trainer minimises: <c>L = w_m * L_metric + sum_k lambda_k * L_k(student, teacher)</c> (the paper's total
/// loss with <c>w_m = 1</c>). The metric term applies to the labelled rows of a batch only (labels of -1 mark
/// unlabelled images), so semi-supervised batches carry only the distillation terms; the teacher is frozen.
/// </summary>
public sealed class TrainingObjective
{
    private readonly string[] _termNames;

    private TrainingObjective(IMetricLoss? metricLoss, double metricWeight, IEmbeddingNetwork? teacher, IReadOnlyList<WeightedDistillationTerm> terms)
    {
        if (metricLoss is null && terms.Count == 0)
            throw new ArgumentException("An objective needs a metric loss, distillation terms, or both.");
        if (terms.Count > 0 && teacher is null)
            throw new ArgumentException("Distillation terms need a teacher network.", nameof(teacher));
        if (!double.IsFinite(metricWeight) || metricWeight < 0)
            throw new ArgumentOutOfRangeException(nameof(metricWeight), metricWeight, "The metric loss weight must be finite and >= 0.");
        foreach (var t in terms)
        {
            ArgumentNullException.ThrowIfNull(t?.Loss, nameof(terms));
            if (!double.IsFinite(t.Weight) || t.Weight < 0)
                throw new ArgumentOutOfRangeException(nameof(terms), t.Weight, $"The weight of distillation term '{t.Loss.Name}' must be finite and >= 0.");
        }
        MetricLoss = metricLoss;
        MetricWeight = metricWeight;
        Teacher = teacher;
        DistillationTerms = terms;
        // Unique names for logs: a second "attention" term becomes "attention#2".
        var seen = new Dictionary<string, int>();
        if (metricLoss is not null) seen[metricLoss.Name] = 1;
        _termNames = terms.Select(t =>
        {
            var n = seen.TryGetValue(t.Loss.Name, out var c) ? c + 1 : 1;
            seen[t.Loss.Name] = n;
            return n == 1 ? t.Loss.Name : $"{t.Loss.Name}#{n}";
        }).ToArray();
    }

    /// <summary>The student's (or teacher's) own metric loss; null for pure distillation.</summary>
    public IMetricLoss? MetricLoss { get; }

    /// <summary>The metric loss weight (1 in the paper; 0 leaves it out).</summary>
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
        ArgumentNullException.ThrowIfNull(terms);
        return new TrainingObjective(metricLoss, 1.0, teacher, terms);
    }

    /// <summary>Returns a copy with a different metric-loss weight.</summary>
    /// <param name="weight">The new weight, finite and &gt;= 0.</param>
    public TrainingObjective WithMetricWeight(double weight) => new(MetricLoss, weight, Teacher, DistillationTerms);

    /// <summary>All learnable parameters of the metric loss and the terms (proxies, projections, hint regressors).</summary>
    public IEnumerable<Parameter> LearnableParameters() =>
        (MetricLoss?.LearnableParameters() ?? []).Concat(DistillationTerms.SelectMany(t => t.Loss.LearnableParameters())).Distinct();

    /// <summary>Computes the objective for one batch.</summary>
    /// <param name="student">The trained network's output.</param>
    /// <param name="teacher">The teacher's output for the same images; may be null only without distillation terms.</param>
    /// <param name="labels">Labels [N] (-1 = unlabelled); may be null only without a metric loss.</param>
    internal ObjectiveValue Compute(EmbeddingOutput student, EmbeddingOutput? teacher, Tensor? labels) => Compute(student, teacher, labels, null);

    /// <summary>As the public one; <paramref name="labelledCount"/>, when the caller knows it, saves a host copy.</summary>
    internal ObjectiveValue Compute(EmbeddingOutput student, EmbeddingOutput? teacher, Tensor? labels, int? labelledCount)
    {
        ArgumentNullException.ThrowIfNull(student);
        if (DistillationTerms.Count > 0 && teacher is null)
            throw new ArgumentNullException(nameof(teacher), "TrainingObjective: distillation terms need the teacher's output.");
        if (MetricLoss is not null && labels is null)
            throw new ArgumentNullException(nameof(labels), $"TrainingObjective: the metric loss '{MetricLoss.Name}' needs labels.");
        using var scope = NewDisposeScope();
        var names = new List<string>();
        var values = new List<Tensor>();
        Tensor? total = null;
        if (MetricLoss is not null && MetricWeight != 0)
        {
            var labelled = labels!.ge(0);
            long count = labelledCount ?? labelled.sum().item<long>();
            if (count == labels.shape[0])
                total = MetricLoss.Compute(student.Embedding, labels);
            else if (count > 0)
            {
                var idx = labelled.nonzero().squeeze(1);
                total = MetricLoss.Compute(student.Embedding.index_select(0, idx), labels.index_select(0, idx));
            }
            if (total is not null)
            {
                names.Add(MetricLoss.Name);
                values.Add(total.detach().to_type(ScalarType.Float64).reshape(1));
                if (MetricWeight != 1) total = total * MetricWeight;
            }
        }
        for (var k = 0; k < DistillationTerms.Count; k++)
        {
            var v = DistillationTerms[k].Loss.Compute(student, teacher!);
            names.Add(_termNames[k]);
            values.Add(v.detach().to_type(ScalarType.Float64).reshape(1));
            var weighted = v * DistillationTerms[k].Weight;
            total = total is null ? weighted : total + weighted;
        }
        // Only a metric loss and no labelled row: a zero that still reaches the student's graph.
        total ??= (student.Embedding * 0).sum();
        var termValues = values.Count > 0 ? cat(values, 0) : zeros(0, ScalarType.Float64, student.Embedding.device);
        return new ObjectiveValue(total.MoveToOuterDisposeScope(), names.ToArray(), termValues.MoveToOuterDisposeScope());
    }

    /// <summary>E.g. <c>multi-similarity + 5*absolute</c>, for logs.</summary>
    public override string ToString()
    {
        var parts = new List<string>();
        if (MetricLoss is not null && MetricWeight != 0) parts.Add(MetricWeight == 1 ? MetricLoss.Name : $"{MetricWeight.ToString("G3", CultureInfo.InvariantCulture)}*{MetricLoss.Name}");
        parts.AddRange(DistillationTerms.Select(t => $"{t.Weight.ToString("G3", CultureInfo.InvariantCulture)}*{t.Loss.Name}"));
        return string.Join(" + ", parts);
    }

    /// <summary>The losses that are modules (they move to the training device, and their state goes into checkpoints).</summary>
    internal IReadOnlyList<nn.Module> LossModules()
    {
        var modules = new List<nn.Module>();
        if (MetricLoss is nn.Module m) modules.Add(m);
        foreach (var t in DistillationTerms)
            if (t.Loss is nn.Module d && !modules.Contains(d)) modules.Add(d);
        return modules;
    }

    /// <summary>The student taps that the distillation terms read.</summary>
    internal IReadOnlyCollection<string> StudentTaps => DistillationTerms.SelectMany(t => t.Loss.StudentTaps).Distinct().ToArray();

    /// <summary>The teacher taps that the distillation terms read.</summary>
    internal IReadOnlyCollection<string> TeacherTaps => DistillationTerms.SelectMany(t => t.Loss.TeacherTaps).Distinct().ToArray();
}

/// <summary>The value of an objective for one batch: the total to back-propagate and each term for logging.</summary>
internal sealed class ObjectiveValue : IDisposable
{
    private readonly string[] _names;
    private IReadOnlyDictionary<string, double>? _terms;

    internal ObjectiveValue(Tensor total, string[] names, Tensor termValues)
    {
        Total = total;
        _names = names;
        TermValues = termValues;
    }

    /// <summary>The weighted total (scalar, with gradient).</summary>
    public Tensor Total { get; }

    /// <summary>
    /// Each term's unweighted value by name (e.g. <c>triplet</c>, <c>relative</c>), for logging. Reading it copies
    /// the values to the host once; the trainer instead reads <see cref="TermValues"/> with its other checks.
    /// </summary>
    public IReadOnlyDictionary<string, double> Terms => _terms ??= ReadTerms();

    /// <summary>The term names, in the order of <see cref="TermValues"/>.</summary>
    internal IReadOnlyList<string> TermNames => _names;

    /// <summary>The unweighted term values [k] (float64, detached, on the loss's device).</summary>
    internal Tensor TermValues { get; }

    /// <summary>Disposes the total and the term values.</summary>
    public void Dispose()
    {
        Total.Dispose();
        TermValues.Dispose();
    }

    private Dictionary<string, double> ReadTerms()
    {
        using var host = TermValues.cpu();
        var values = host.data<double>().ToArray();
        return _names.Select((n, i) => (n, values[i])).ToDictionary(p => p.n, p => p.Item2);
    }
}
