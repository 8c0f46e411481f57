using System.Numerics;
using EmbeddingDistillation.Primitives;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Losses;

/// <summary>
/// Fused CPU path of <see cref="RelativeTeacherLoss"/> for Euclidean distances (every reduction): the two
/// squared-distance matrices come from torch, one C# pass computes D_S, D_T, the loss and dLoss/d(D_S^2), one more
/// turns that into W (dLoss/dx = W x). Same values and gradients as the torch form, to float rounding.
/// </summary>
internal static class RelativeTeacherFused
{
    internal static bool Applies(RelativeTeacherLossOptions options, Tensor student) =>
        options.Distance == RelativeDistance.Euclidean && FusedPairwise.Supports(student);

    internal static Tensor Forward(Tensor student, Tensor teacher, RelativeReduction reduction)
    {
        var n = (int)student.shape[0];
        var d2s = FusedPairwise.SquaredDistances(student);
        var d2t = FusedPairwise.SquaredDistances(teacher);
        var weights = FusedPairwise.NeedsGradient(student) ? FusedPairwise.NewWeights(student) : null;
        double loss = student.dtype == ScalarType.Float32
            ? Run<float>(d2s, d2t, weights, n, reduction)
            : Run<double>(d2s, d2t, weights, n, reduction);
        return FusedPairwise.Finish(student, loss, weights);
    }

    private static double Run<T>(Tensor d2sTensor, Tensor d2tTensor, Tensor? weights, int n, RelativeReduction reduction)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var d2s = FusedPairwise.Elements<T>(d2sTensor);
        var d2t = FusedPairwise.Elements<T>(d2tTensor);
        var noGrad = weights is null;
        var a = noGrad ? Span<T>.Empty : FusedPairwise.Elements<T>(weights!);
        var clamp = T.CreateTruncating(PairwiseDistances.DefaultClamp);
        var two = T.CreateTruncating(2.0);
        double sum = 0;
        for (var k = 0; k < n * n; k++)
        {
            var ds = FusedPairwise.Distance(d2s[k], clamp);
            var diff = ds - FusedPairwise.Distance(d2t[k], clamp);
            var dd = double.CreateTruncating(diff);
            T g;
            if (reduction == RelativeReduction.MeanAbsolute) { sum += Math.Abs(dd); g = T.CreateTruncating(Math.Sign(dd)); }
            else { sum += dd * dd; g = reduction == RelativeReduction.Frobenius ? diff : two * diff; }
            if (!noGrad) a[k] = g * FusedPairwise.HalfInverse(d2s[k], ds, clamp);
        }
        double loss, scale;
        var count = (double)n * n;
        switch (reduction)
        {
            case RelativeReduction.Frobenius:
                // As the torch form: the sum is clamped at 1e-30 before the sqrt; no gradient where the clamp holds.
                loss = Math.Sqrt(Math.Max(sum, 1e-30));
                scale = sum >= 1e-30 ? 1 / loss : 0;
                break;
            default:
                loss = sum / count;
                scale = 1 / count;
                break;
        }
        if (!noGrad) FusedPairwise.DistanceWeights(a, n, scale);
        return loss;
    }
}
