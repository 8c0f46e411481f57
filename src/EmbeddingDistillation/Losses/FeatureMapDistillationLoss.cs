using EmbeddingDistillation.Networks;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Losses;

/// <summary>One student/teacher tap pair read by a feature-map distillation term, with the weight of its term.</summary>
/// <param name="Student">The student's tap name (e.g. <c>stage3</c>).</param>
/// <param name="Teacher">The teacher's tap name (e.g. <c>layer3</c>).</param>
/// <param name="Weight">The weight of this pair's term (default 1).</param>
public sealed record TapPair(string Student, string Teacher, double Weight = 1.0)
{
    /// <inheritdoc />
    public override string ToString() => $"{Teacher}:{Student}";
}

/// <summary>
/// Base of the distillation terms that read named intermediate maps of student and teacher (hint, attention):
/// <c>forward(studentMap, teacherMap)</c> is the term for one pair of maps, and <see cref="Compute"/> sums it over
/// the configured <see cref="Pairs"/>, each times its weight.
/// </summary>
public abstract class FeatureMapDistillationLoss : nn.Module<Tensor, Tensor, Tensor>, IDistillationLoss
{
    private readonly TapPair[] _pairs;

    /// <summary>Creates the module.</summary>
    /// <param name="moduleName">The TorchSharp module name.</param>
    /// <param name="pairs">The taps <see cref="Compute"/> reads; none is fine when only <c>forward</c> is called.</param>
    protected FeatureMapDistillationLoss(string moduleName, IEnumerable<TapPair>? pairs) : base(moduleName)
    {
        _pairs = pairs?.ToArray() ?? [];
        foreach (var p in _pairs)
        {
            ArgumentNullException.ThrowIfNull(p, nameof(pairs));
            if (string.IsNullOrWhiteSpace(p.Student) || string.IsNullOrWhiteSpace(p.Teacher))
                throw new ArgumentException($"{moduleName}: a tap pair needs a student and a teacher tap name; got ({p.Student}, {p.Teacher}).", nameof(pairs));
            if (!double.IsFinite(p.Weight))
                throw new ArgumentException($"{moduleName}: the weight of tap pair ({p.Student}, {p.Teacher}) must be finite; got {p.Weight}.", nameof(pairs));
        }
    }

    /// <summary>The tap pairs <see cref="Compute"/> reads.</summary>
    public IReadOnlyList<TapPair> Pairs => _pairs;

    /// <inheritdoc />
    public abstract string Name { get; }

    /// <inheritdoc />
    public IReadOnlyCollection<string> StudentTaps => _pairs.Select(p => p.Student).Distinct().ToArray();

    /// <inheritdoc />
    public IReadOnlyCollection<string> TeacherTaps => _pairs.Select(p => p.Teacher).Distinct().ToArray();

    /// <inheritdoc />
    public virtual IEnumerable<TorchSharp.Modules.Parameter> LearnableParameters() => parameters();

    /// <inheritdoc />
    public Tensor Compute(EmbeddingOutput student, EmbeddingOutput teacher)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(teacher);
        if (_pairs.Length == 0)
            throw new InvalidOperationException($"{GetName()}: no tap pairs configured; give TapPair values to the constructor to use Compute.");
        using var scope = NewDisposeScope();
        Tensor? total = null;
        foreach (var p in _pairs)
        {
            var term = forward(student.Feature(p.Student), teacher.Feature(p.Teacher));
            if (p.Weight != 1) term = term * p.Weight;
            total = total is null ? term : total + term;
        }
        return total!.MoveToOuterDisposeScope();
    }
}
