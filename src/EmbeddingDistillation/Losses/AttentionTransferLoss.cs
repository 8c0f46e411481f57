using EmbeddingDistillation.Networks;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Losses;

/// <summary>One student/teacher tap pair of <see cref="AttentionTransferLoss"/> and its weight.</summary>
/// <param name="StudentTap">The student's tap name.</param>
/// <param name="TeacherTap">The teacher's tap name.</param>
/// <param name="Weight">The weight of this pair's term (default 1).</param>
public sealed record AttentionTapPair(string StudentTap, string TeacherTap, double Weight = 1.0);

/// <summary>
/// Attention transfer (Zagoruyko &amp; Komodakis, ICLR 2017): at(x) = normalise(mean over channels of x^2, flattened per
/// sample); loss = mean((at(s) - at(t))^2). Channel counts may differ; a student map of another spatial size is
/// resized bilinearly to the teacher's.
/// </summary>
public sealed class AttentionTransferLoss : nn.Module<Tensor, Tensor, Tensor>, IDistillationLoss
{
    private readonly AttentionTapPair[] _pairs;

    /// <summary>Creates the loss; <paramref name="pairs"/> are the taps <see cref="Compute"/> reads (sum of weighted terms).</summary>
    /// <param name="pairs">Tap pairs; none is fine when only <c>forward</c> is called.</param>
    public AttentionTransferLoss(params AttentionTapPair[] pairs) : base(nameof(AttentionTransferLoss))
    {
        _pairs = pairs ?? Array.Empty<AttentionTapPair>();
        foreach (var p in _pairs)
            if (!double.IsFinite(p.Weight))
                throw new ArgumentException($"AttentionTransferLoss: the weight of tap pair ({p.StudentTap}, {p.TeacherTap}) must be finite; got {p.Weight}.", nameof(pairs));
    }

    /// <summary>The tap pairs read by <see cref="Compute"/>.</summary>
    public IReadOnlyList<AttentionTapPair> Pairs => _pairs;

    /// <inheritdoc />
    public string Name => "attention";

    /// <inheritdoc />
    public IReadOnlyCollection<string> StudentTaps => _pairs.Select(p => p.StudentTap).Distinct().ToArray();

    /// <inheritdoc />
    public IReadOnlyCollection<string> TeacherTaps => _pairs.Select(p => p.TeacherTap).Distinct().ToArray();

    /// <inheritdoc />
    public IEnumerable<TorchSharp.Modules.Parameter> LearnableParameters() => Array.Empty<TorchSharp.Modules.Parameter>();

    /// <summary>The attention map at(x) [N, H*W] of a feature map [N, C, H, W].</summary>
    /// <param name="map">The feature map.</param>
    public static Tensor AttentionMap(Tensor map)
    {
        using var scope = NewDisposeScope();
        var at = nn.functional.normalize(map.pow(2).mean(new long[] { 1 }).view(map.shape[0], -1), p: 2, dim: 1);
        return at.MoveToOuterDisposeScope();
    }

    /// <summary>The loss for one pair of maps.</summary>
    /// <param name="studentMap">Student map [N, Cs, Hs, Ws].</param>
    /// <param name="teacherMap">Teacher map [N, Ct, Ht, Wt] (no gradient flows into it).</param>
    public override Tensor forward(Tensor studentMap, Tensor teacherMap)
    {
        LossInputs.MapPair(studentMap, teacherMap, nameof(AttentionTransferLoss));
        using var scope = NewDisposeScope();
        var s = FeatureMaps.MatchSpatial(studentMap, teacherMap);
        var loss = (AttentionMap(s) - AttentionMap(teacherMap.detach())).pow(2).mean();
        return loss.MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public Tensor Compute(EmbeddingOutput student, EmbeddingOutput teacher)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(teacher);
        if (_pairs.Length == 0)
            throw new InvalidOperationException("AttentionTransferLoss: no tap pairs configured; pass AttentionTapPair values to the constructor to use Compute.");
        using var scope = NewDisposeScope();
        Tensor? total = null;
        foreach (var p in _pairs)
        {
            var term = forward(student.Feature(p.StudentTap), teacher.Feature(p.TeacherTap)) * p.Weight;
            total = total is null ? term : total + term;
        }
        return total!.MoveToOuterDisposeScope();
    }
}
