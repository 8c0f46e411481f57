using System.Numerics;
using EmbeddingDistillation.Primitives;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Losses;

/// <summary>
/// Fused CPU path of <see cref="RkdDistanceLoss"/>: the two Gram matrices come from torch; C# passes compute the
/// distances from them, the off-diagonal means, the Huber loss and dLoss/d(D_S^2) (including the gradient through the
/// student's mean), written as W (dLoss/dx = W x) row by row. Same values and gradients as the torch form, to float
/// rounding; non-finite input gives NaN without the passes.
/// </summary>
internal static class RkdDistanceFused
{
    internal static Tensor Forward(Tensor student, Tensor teacher)
    {
        var n = (int)student.shape[0];
        var gs = FusedPairwise.Gram(student);
        var gt = FusedPairwise.Gram(teacher);
        var weights = FusedPairwise.NeedsGradient(student) ? FusedPairwise.NewWeights(student) : null;
        if (!FusedPairwise.FiniteDiagonal(gs, n) || !FusedPairwise.FiniteDiagonal(gt, n)) return FusedPairwise.NonFiniteLoss(student, weights);
        var loss = student.dtype == ScalarType.Float32
            ? Run<float>(gs, gt, weights, n)
            : Run<double>(gs, gt, weights, n);
        return FusedPairwise.Finish(student, loss, weights);
    }

    private static double Run<T>(Tensor gsTensor, Tensor gtTensor, Tensor? weights, int n)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var clamp = T.CreateTruncating(PairwiseDistances.DefaultClamp);
        var pairs = (double)n * (n - 1);
        var normsS = FusedPairwise.Diagonal<T>(gsTensor, n);
        var normsT = FusedPairwise.Diagonal<T>(gtTensor, n);
        // Pass 1: the off-diagonal means of both distance matrices.
        var sumS = FusedPairwise.ForRows(n, (start, end) => OffDiagonalSum<T>(gsTensor, normsS, n, start, end, clamp));
        var sumT = FusedPairwise.ForRows(n, (start, end) => OffDiagonalSum<T>(gtTensor, normsT, n, start, end, clamp));
        var meanS = T.CreateTruncating(sumS / pairs);
        var meanT = T.CreateTruncating(sumT / pairs);
        var withGradient = weights is not null;
        var count = (double)n * n;
        // Pass 2: Huber loss of z = D_S / meanS - D_T / meanT and h = dHuber/dz / N^2 (stored in W), sum h * D_S/meanS.
        // Both sums go through ForRows, which adds the blocks in block order: parallel blocks finish in any order.
        var (lossSum, hDotS) = FusedPairwise.ForRows(n, (start, end) =>
        {
            var gs = FusedPairwise.Elements<T>(gsTensor);
            var gt = FusedPairwise.Elements<T>(gtTensor);
            var a = withGradient ? FusedPairwise.Elements<T>(weights!) : Span<T>.Empty;
            var d2 = new T[n];
            var ds = new T[n];
            var dt = new T[n];
            double total = 0, dot = 0;
            for (var i = start; i < end; i++)
            {
                var row = i * n;
                FusedPairwise.GramRowDistances<T>(gs, normsS, i, d2, ds, Span<T>.Empty, clamp);
                FusedPairwise.GramRowDistances<T>(gt, normsT, i, d2, dt, Span<T>.Empty, clamp);
                ds[i] = T.Zero;
                dt[i] = T.Zero;
                var j = 0;
                if (Vector.IsHardwareAccelerated)
                {
                    // Huber, vectorised: h = dHuber/dz = clamp(z, -1, 1); loss 0.5 z^2 where |z| < 1, else |z| - 0.5.
                    var one = Vector<T>.One;
                    var halfV = new Vector<T>(T.CreateTruncating(0.5));
                    var vs = new Vector<T>(meanS);
                    var vt = new Vector<T>(meanT);
                    Vector<T> lossAcc = Vector<T>.Zero, dotAcc = Vector<T>.Zero;
                    for (; j <= n - Vector<T>.Count; j += Vector<T>.Count)
                    {
                        var sn = new Vector<T>(ds, j) / vs;
                        var z = sn - new Vector<T>(dt, j) / vt;
                        var az = Vector.Abs(z);
                        lossAcc += Vector.ConditionalSelect(Vector.LessThan(az, one), halfV * z * z, az - halfV);
                        if (withGradient)
                        {
                            var h = Vector.Min(Vector.Max(z, -one), one);
                            h.CopyTo(a[(row + j)..]);
                            dotAcc += h * sn;
                        }
                    }
                    total += double.CreateTruncating(Vector.Sum(lossAcc));
                    dot += double.CreateTruncating(Vector.Sum(dotAcc));
                }
                for (; j < n; j++)
                {
                    var sn = ds[j] / meanS;
                    var z = sn - dt[j] / meanT;
                    var az = T.Abs(z);
                    var zd = double.CreateTruncating(z);
                    T h;
                    if (az < T.One) { total += 0.5 * zd * zd; h = z; }
                    else { total += double.CreateTruncating(az) - 0.5; h = T.CopySign(T.One, z); } // CopySign: T.Sign throws on NaN
                    if (withGradient)
                    {
                        a[row + j] = h;
                        dot += double.CreateTruncating(h * sn);
                    }
                }
            }
            return (total, dot);
        });
        var loss = lossSum / count;
        if (withGradient)
        {
            // Pass 3: dLoss/dD_S,kl = (h_kl - sum(h sn) / N(N-1)) / (N^2 meanS), off the diagonal; times dD/d(D^2);
            // symmetric (h and D_S are), so each row becomes its row of W at once.
            var shift = T.CreateTruncating(hDotS / pairs);
            var scale = T.CreateTruncating(1.0 / count) / meanS;
            FusedPairwise.ForRows(n, (start, end) =>
            {
                var a = FusedPairwise.Elements<T>(weights!);
                var gs = FusedPairwise.Elements<T>(gsTensor);
                var d2 = new T[n];
                var half = new T[n];
                var ds = new T[n];
                for (var i = start; i < end; i++)
                {
                    var row = i * n;
                    FusedPairwise.GramRowDistances<T>(gs, normsS, i, d2, ds, half, clamp);
                    for (var j = 0; j < n; j++)
                        a[row + j] = j == i ? T.Zero : (a[row + j] - shift) * scale * half[j];
                    FusedPairwise.SymmetricDistanceWeightsRow(a.Slice(row, n), i);
                }
                return 0;
            });
        }
        return loss;
    }

    private static double OffDiagonalSum<T>(Tensor gTensor, T[] norms, int n, int start, int end, T clamp)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var g = FusedPairwise.Elements<T>(gTensor);
        var d2 = new T[n];
        var d = new T[n];
        double total = 0;
        for (var i = start; i < end; i++)
        {
            FusedPairwise.GramRowDistances<T>(g, norms, i, d2, d, Span<T>.Empty, clamp);
            var rowSum = T.Zero;
            for (var j = 0; j < n; j++) if (j != i) rowSum += d[j];
            total += double.CreateTruncating(rowSum);
        }
        return total;
    }
}
