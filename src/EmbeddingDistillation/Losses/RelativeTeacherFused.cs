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
        var sum = student.dtype == ScalarType.Float32
            ? Run<float>(d2s, d2t, weights, n, reduction)
            : Run<double>(d2s, d2t, weights, n, reduction);
        double loss, scale;
        var count = (double)n * n;
        if (reduction == RelativeReduction.Frobenius)
        {
            // As the torch form: the sum is clamped at 1e-30 before the sqrt; no gradient where the clamp holds.
            loss = Math.Sqrt(Math.Max(sum, 1e-30));
            scale = sum >= 1e-30 ? 1 / loss : 0;
        }
        else
        {
            loss = sum / count;
            scale = 1 / count;
        }
        return FusedPairwise.Finish(student, loss, weights, scale);
    }

    /// <summary>
    /// Returns sum |diff| (mean-absolute) or sum diff^2 over all N x N entries and, with <paramref name="weights"/>,
    /// writes W for the unscaled gradient (d sum|diff| or d sum diff^2/2 (Frobenius) or d sum diff^2 per d(D_S^2)).
    /// </summary>
    private static double Run<T>(Tensor d2sTensor, Tensor d2tTensor, Tensor? weights, int n, RelativeReduction reduction)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var withGradient = weights is not null;
        var clamp = T.CreateTruncating(PairwiseDistances.DefaultClamp);
        var factor = T.CreateTruncating(reduction == RelativeReduction.MeanSquared ? 2.0 : 1.0);
        var sum = FusedPairwise.ForRows(n, (start, end) =>
        {
            var d2s = FusedPairwise.Elements<T>(d2sTensor);
            var d2t = FusedPairwise.Elements<T>(d2tTensor);
            var a = withGradient ? FusedPairwise.Elements<T>(weights!) : Span<T>.Empty;
            var ds = new T[n];
            var dt = new T[n];
            var half = new T[withGradient ? n : 0];
            double total = 0;
            for (var i = start; i < end; i++)
            {
                var row = i * n;
                FusedPairwise.RowDistances<T>(d2s.Slice(row, n), ds, half, clamp);
                FusedPairwise.RowDistances<T>(d2t.Slice(row, n), dt, Span<T>.Empty, clamp);
                var rowSum = T.Zero;
                var j = 0;
                if (Vector.IsHardwareAccelerated && reduction != RelativeReduction.MeanAbsolute)
                {
                    // Squared reductions, vectorised: sum diff^2 and a = factor * diff / (2 D_S).
                    var acc = Vector<T>.Zero;
                    var vf = new Vector<T>(factor);
                    for (; j <= n - Vector<T>.Count; j += Vector<T>.Count)
                    {
                        var diff = new Vector<T>(ds, j) - new Vector<T>(dt, j);
                        acc += diff * diff;
                        if (withGradient) (vf * diff * new Vector<T>(half, j)).CopyTo(a[(row + j)..]);
                    }
                    rowSum = Vector.Sum(acc);
                }
                for (; j < n; j++)
                {
                    var diff = ds[j] - dt[j];
                    if (reduction == RelativeReduction.MeanAbsolute)
                    {
                        rowSum += T.Abs(diff);
                        if (withGradient) a[row + j] = (diff > T.Zero ? T.One : diff < T.Zero ? -T.One : T.Zero) * half[j]; // not T.Sign: it throws on NaN
                    }
                    else
                    {
                        rowSum += diff * diff;
                        if (withGradient) a[row + j] = factor * diff * half[j];
                    }
                }
                total += double.CreateTruncating(rowSum);
            }
            return total;
        });
        if (withGradient) FusedPairwise.DistanceWeights<T>(weights!, n);
        return sum;
    }
}
