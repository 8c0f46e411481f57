using EmbeddingDistillation.Networks;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Losses;

/// <summary>A distillation term and its weight lambda in <see cref="DistillationObjective"/>.</summary>
/// <param name="Loss">The term.</param>
/// <param name="Weight">Its weight (the paper's lambda, e.g. 1.0 absolute / 0.3 relative on CUB).</param>
public sealed record WeightedTerm(IDistillationLoss Loss, double Weight);

/// <summary>The value of an objective for one batch: the total to back-propagate and each term for logging.</summary>
public sealed class ObjectiveValue : IDisposable
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

/// <summary>
/// The paper's objective L = L_student + sum_k lambda_k L_KD,k: an optional metric loss on the student's labelled
/// embeddings plus any number of weighted distillation terms against the teacher's output for the same images.
/// </summary>
/// <remarks>
/// Semi-supervised batches: labels of -1 mark unlabelled images. The metric loss sees only the labelled rows (and is
/// skipped when there are none); the distillation terms see the whole batch.
/// </remarks>
public sealed class DistillationObjective
{
    private readonly WeightedTerm[] _terms;
    private readonly string[] _names;

    /// <summary>Creates the objective.</summary>
    /// <param name="studentLoss">The student's own metric loss (e.g. batch-hard triplet); null for distillation only.</param>
    /// <param name="terms">The weighted distillation terms.</param>
    public DistillationObjective(IMetricLoss? studentLoss, params WeightedTerm[] terms)
    {
        StudentLoss = studentLoss;
        _terms = terms ?? Array.Empty<WeightedTerm>();
        if (studentLoss is null && _terms.Length == 0)
            throw new ArgumentException("DistillationObjective: needs a student loss or at least one distillation term.", nameof(terms));
        foreach (var t in _terms)
        {
            ArgumentNullException.ThrowIfNull(t?.Loss, nameof(terms));
            if (!double.IsFinite(t.Weight))
                throw new ArgumentException($"DistillationObjective: the weight of '{t.Loss.Name}' must be finite; got {t.Weight}.", nameof(terms));
        }
        // Unique names for logging: a second "attention" term becomes "attention#2".
        var seen = new Dictionary<string, int>();
        if (studentLoss is not null) seen[studentLoss.Name] = 1;
        _names = _terms.Select(t =>
        {
            var n = seen.TryGetValue(t.Loss.Name, out var c) ? c + 1 : 1;
            seen[t.Loss.Name] = n;
            return n == 1 ? t.Loss.Name : $"{t.Loss.Name}#{n}";
        }).ToArray();
    }

    /// <summary>The student's metric loss, or null.</summary>
    public IMetricLoss? StudentLoss { get; }

    /// <summary>Weight of the student's own loss in the total (default 1, the paper's); 0 leaves it out.</summary>
    public double StudentLossWeight
    {
        get => _studentLossWeight;
        init => _studentLossWeight = double.IsFinite(value) && value >= 0 ? value
            : throw new ArgumentOutOfRangeException(nameof(StudentLossWeight), value, "DistillationObjective: the student loss weight must be finite and >= 0.");
    }

    private readonly double _studentLossWeight = 1.0;

    /// <summary>The weighted distillation terms.</summary>
    public IReadOnlyList<WeightedTerm> Terms => _terms;

    /// <summary>All learnable parameters of the student loss and the terms (projection, hint regressor, proxies).</summary>
    public IEnumerable<TorchSharp.Modules.Parameter> LearnableParameters() =>
        (StudentLoss?.LearnableParameters() ?? Enumerable.Empty<TorchSharp.Modules.Parameter>())
            .Concat(_terms.SelectMany(t => t.Loss.LearnableParameters()));

    /// <summary>Computes the objective for one batch.</summary>
    /// <param name="student">The student's output.</param>
    /// <param name="teacher">The teacher's output for the same images; may be null only when there are no terms.</param>
    /// <param name="labels">Labels [N] (-1 = unlabelled); may be null only without a student loss.</param>
    public ObjectiveValue Compute(EmbeddingOutput student, EmbeddingOutput? teacher, Tensor? labels) => Compute(student, teacher, labels, null);

    /// <summary>Computes the objective; <paramref name="labelledCount"/>, when the caller knows it, saves a host sync.</summary>
    internal ObjectiveValue Compute(EmbeddingOutput student, EmbeddingOutput? teacher, Tensor? labels, int? labelledCount)
    {
        ArgumentNullException.ThrowIfNull(student);
        if (_terms.Length > 0 && teacher is null)
            throw new ArgumentNullException(nameof(teacher), "DistillationObjective: distillation terms need the teacher's output.");
        if (StudentLoss is not null && labels is null)
            throw new ArgumentNullException(nameof(labels), $"DistillationObjective: the student loss '{StudentLoss.Name}' needs labels.");
        using var scope = NewDisposeScope();
        var names = new List<string>();
        var values = new List<Tensor>();
        Tensor? total = null;
        if (StudentLoss is not null && StudentLossWeight != 0)
        {
            var labelled = labels!.ge(0);
            long count = labelledCount ?? labelled.sum().item<long>();
            if (count == labels.shape[0])
                total = StudentLoss.Compute(student.Embedding, labels);
            else if (count > 0)
            {
                var idx = labelled.nonzero().squeeze(1);
                total = StudentLoss.Compute(student.Embedding.index_select(0, idx), labels.index_select(0, idx));
            }
            if (total is not null)
            {
                names.Add(StudentLoss.Name);
                values.Add(total.detach().to_type(ScalarType.Float64).reshape(1));
                if (StudentLossWeight != 1) total = total * StudentLossWeight;
            }
        }
        for (var k = 0; k < _terms.Length; k++)
        {
            var v = _terms[k].Loss.Compute(student, teacher!);
            names.Add(_names[k]);
            values.Add(v.detach().to_type(ScalarType.Float64).reshape(1));
            var weighted = v * _terms[k].Weight;
            total = total is null ? weighted : total + weighted;
        }
        // Only a student loss with no labelled row: a zero that still reaches the student's graph.
        total ??= LossInputs.ConnectedZero(student.Embedding);
        var termValues = values.Count > 0 ? cat(values, 0) : zeros(0, ScalarType.Float64, student.Embedding.device);
        return new ObjectiveValue(total.MoveToOuterDisposeScope(), names.ToArray(), termValues.MoveToOuterDisposeScope());
    }
}
