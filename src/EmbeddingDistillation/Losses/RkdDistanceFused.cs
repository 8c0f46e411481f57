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
        // Pass 1: both distance matrices, written over their Gram matrices (each row reads only its own Gram row and the
        // norms), and their off-diagonal sums. Later passes read the distances instead of taking square roots again.
        var (sumS, sumT) = FusedPairwise.ForRows(n, (start, end) =>
        {
            var gs = FusedPairwise.Elements<T>(gsTensor);
            var gt = FusedPairwise.Elements<T>(gtTensor);
            var d2 = new T[n];
            double totalS = 0, totalT = 0;
            for (var i = start; i < end; i++)
            {
                var rowS = gs.Slice(i * n, n);
                var rowT = gt.Slice(i * n, n);
                SignedRowDistances(rowS, normsS, i, d2, clamp);
                SignedRowDistances(rowT, normsT, i, d2, clamp);
                // In index order, as a plain loop over one row adds them; the two independent sums overlap.
                T rowSumS = T.Zero, rowSumT = T.Zero;
                for (var j = 0; j < i; j++) { rowSumS += T.Abs(rowS[j]); rowSumT += T.Abs(rowT[j]); }
                for (var j = i + 1; j < n; j++) { rowSumS += T.Abs(rowS[j]); rowSumT += T.Abs(rowT[j]); }
                totalS += double.CreateTruncating(rowSumS);
                totalT += double.CreateTruncating(rowSumT);
            }
            return (totalS, totalT);
        });
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
            var ds = new T[n];
            var dt = new T[n];
            double total = 0, dot = 0;
            for (var i = start; i < end; i++)
            {
                var row = i * n;
                Magnitudes(gs.Slice(row, n), ds);
                Magnitudes(gt.Slice(row, n), dt);
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
                for (var i = start; i < end; i++)
                {
                    var row = a.Slice(i * n, n);
                    ScaleByHalfInverse(row, gs.Slice(i * n, n), shift, scale);
                    // The diagonal (clamped, so its factor is 0) is set by the W row below.
                    FusedPairwise.SymmetricDistanceWeightsRow(row, i);
                }
                return 0;
            });
        }
        return loss;
    }

    /// <summary>
    /// Row i of the distances d = sqrt(clamp_min(d^2, clamp)) from the Gram row in <paramref name="row"/>, written over
    /// it, negated where the clamp holds (d^2 &lt; clamp, the diagonal included), so that a later pass knows where
    /// dd/d(d^2) is 0 without d^2. Every d is at least sqrt(clamp) &gt; 0, so the sign is free to carry that bit.
    /// </summary>
    private static void SignedRowDistances<T>(Span<T> row, T[] squaredNorms, int i, Span<T> d2, T clamp)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        FusedPairwise.GramRowSquaredDistances<T>(row, squaredNorms, squaredNorms[i], d2);
        var j = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var vc = new Vector<T>(clamp);
            for (; j <= d2.Length - Vector<T>.Count; j += Vector<T>.Count)
            {
                var v = new Vector<T>(d2[j..]);
                var dv = Vector.SquareRoot(Vector.Max(v, vc));
                Vector.ConditionalSelect(Vector.GreaterThanOrEqual(v, vc), dv, -dv).CopyTo(row[j..]);
            }
        }
        for (; j < d2.Length; j++)
        {
            var d = FusedPairwise.Distance(d2[j], clamp);
            row[j] = d2[j] >= clamp ? d : -d;
        }
    }

    /// <summary>|signed| into <paramref name="d"/>: the distances of a <see cref="SignedRowDistances{T}"/> row.</summary>
    private static void Magnitudes<T>(ReadOnlySpan<T> signed, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var j = 0;
        if (Vector.IsHardwareAccelerated)
            for (; j <= d.Length - Vector<T>.Count; j += Vector<T>.Count)
                Vector.Abs(new Vector<T>(signed[j..])).CopyTo(d[j..]);
        for (; j < d.Length; j++) d[j] = T.Abs(signed[j]);
    }

    /// <summary>
    /// a_j = (a_j - shift) * scale * dd/d(d^2)_j, with dd/d(d^2) = 0.5 / d where the signed distance is positive
    /// (clamp inactive), else 0: what autograd gives through the clamp and the square root.
    /// </summary>
    private static void ScaleByHalfInverse<T>(Span<T> a, ReadOnlySpan<T> signed, T shift, T scale)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var half = T.CreateTruncating(0.5);
        var j = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var vShift = new Vector<T>(shift);
            var vScale = new Vector<T>(scale);
            var vHalf = new Vector<T>(half);
            for (; j <= a.Length - Vector<T>.Count; j += Vector<T>.Count)
            {
                var d = new Vector<T>(signed[j..]);
                var inverse = Vector.ConditionalSelect(Vector.GreaterThan(d, Vector<T>.Zero), vHalf / d, Vector<T>.Zero);
                ((new Vector<T>(a[j..]) - vShift) * vScale * inverse).CopyTo(a[j..]);
            }
        }
        for (; j < a.Length; j++)
            a[j] = (a[j] - shift) * scale * (signed[j] > T.Zero ? half / signed[j] : T.Zero);
    }
}
