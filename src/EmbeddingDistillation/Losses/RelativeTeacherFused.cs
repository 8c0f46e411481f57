using System.Numerics;
using EmbeddingDistillation.Primitives;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Losses;

/// <summary>
/// Fused CPU path of <see cref="RelativeTeacherLoss"/> for Euclidean distances (every reduction): the two Gram
/// matrices come from torch (the matmuls no implementation avoids); one C# pass per row computes the squared distances
/// from them, D_S, D_T, the loss and dLoss/d(D_S^2), and writes that row of W (dLoss/dx = W x) while it is in cache.
/// Same values and gradients as the torch form, to float rounding; non-finite input gives NaN without the pass.
/// </summary>
internal static class RelativeTeacherFused
{
    internal static bool Applies(RelativeTeacherLossOptions options, Tensor student) =>
        options.Distance == RelativeDistance.Euclidean && FusedPairwise.Supports(student);

    internal static Tensor Forward(Tensor student, Tensor teacher, RelativeReduction reduction)
    {
        var n = (int)student.shape[0];
        var gs = FusedPairwise.Gram(student);
        var gt = FusedPairwise.Gram(teacher);
        var weights = FusedPairwise.NeedsGradient(student) ? FusedPairwise.NewWeights(student) : null;
        if (!FusedPairwise.FiniteDiagonal(gs, n) || !FusedPairwise.FiniteDiagonal(gt, n)) return FusedPairwise.NonFiniteLoss(student, weights);
        var sum = student.dtype == ScalarType.Float32
            ? Run<float>(gs, gt, weights, n, reduction)
            : Run<double>(gs, gt, weights, n, reduction);
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
    /// writes W for the unscaled gradient (d sum|diff| or d sum diff^2/2 (Frobenius) or d sum diff^2 per d(D_S^2),
    /// symmetric, turned into W row by row).
    /// </summary>
    private static double Run<T>(Tensor gsTensor, Tensor gtTensor, Tensor? weights, int n, RelativeReduction reduction)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var withGradient = weights is not null;
        var clamp = T.CreateTruncating(PairwiseDistances.DefaultClamp);
        var factor = T.CreateTruncating(reduction == RelativeReduction.MeanSquared ? 2.0 : 1.0);
        var normsS = FusedPairwise.Diagonal<T>(gsTensor, n);
        var normsT = FusedPairwise.Diagonal<T>(gtTensor, n);
        return FusedPairwise.ForRows(n, (start, end) =>
        {
            var gs = FusedPairwise.Elements<T>(gsTensor);
            var gt = FusedPairwise.Elements<T>(gtTensor);
            var a = withGradient ? FusedPairwise.Elements<T>(weights!) : Span<T>.Empty;
            var d2 = new T[n];
            var ds = new T[n];
            var dt = new T[n];
            var half = new T[withGradient ? n : 0];
            double total = 0;
            for (var i = start; i < end; i++)
            {
                var row = i * n;
                FusedPairwise.GramRowDistances<T>(gs, normsS, i, d2, ds, half, clamp);
                FusedPairwise.GramRowDistances<T>(gt, normsT, i, d2, dt, Span<T>.Empty, clamp);
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
                if (withGradient) FusedPairwise.SymmetricDistanceWeightsRow(a.Slice(row, n), i);
            }
            return total;
        });
    }
}
