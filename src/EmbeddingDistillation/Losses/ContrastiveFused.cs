using System.Numerics;
using EmbeddingDistillation.Primitives;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Losses;

/// <summary>
/// Fused CPU path of <see cref="ContrastiveLoss"/>: the squared-distance matrix comes from torch, one C# pass per row
/// computes the pull/push terms (the anchor's class by index, the rest vectorised) and dLoss/d(d^2), symmetric, and turns the row into its row of W (dLoss/dx = W x) while
/// it is in cache. Same values and gradients as the torch form, to float rounding.
/// </summary>
internal static class ContrastiveFused
{
    internal static Tensor Forward(Tensor embeddings, Tensor labels, double positiveMargin, double negativeMargin)
    {
        var n = (int)embeddings.shape[0];
        var d2 = FusedPairwise.SquaredDistances(embeddings);
        var y = FusedPairwise.Labels(labels);
        var weights = FusedPairwise.NeedsGradient(embeddings) ? FusedPairwise.NewWeights(embeddings) : null;
        if (!FusedPairwise.FiniteDiagonal(d2, n)) return FusedPairwise.NonFiniteLoss(embeddings, weights);
        var pairs = Math.Max(1.0, (double)n * (n - 1));
        var sum = embeddings.dtype == ScalarType.Float32
            ? Run<float>(d2, y, weights, n, positiveMargin, negativeMargin)
            : Run<double>(d2, y, weights, n, positiveMargin, negativeMargin);
        return FusedPairwise.Finish(embeddings, sum / pairs, weights, 1 / pairs);
    }

    private static double Run<T>(Tensor d2Tensor, long[] y, Tensor? weights, int n, double positiveMargin, double negativeMargin)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var clamp = T.CreateTruncating(PairwiseDistances.DefaultClamp);
        var mp = T.CreateTruncating(positiveMargin);
        var mn = T.CreateTruncating(negativeMargin);
        var two = T.CreateTruncating(2.0);
        var withGradient = weights is not null;
        var members = FusedPairwise.ClassMembers(y);
        var sum = FusedPairwise.ForRows(n, (start, end) =>
        {
            var d2 = FusedPairwise.Elements<T>(d2Tensor);
            var a = withGradient ? FusedPairwise.Elements<T>(weights!) : Span<T>.Empty;
            var d = new T[n];
            var half = new T[withGradient ? n : 0]; // dd/d(d^2): only the gradient needs it
            var pull = new T[n];
            double total = 0;
            for (var i = start; i < end; i++)
            {
                var row = i * n;
                FusedPairwise.RowDistances<T>(d2.Slice(row, n), d, half, clamp);
                // Positives (the anchor's class, few): pull beyond the positive margin. Their distances are then set to
                // +inf, where the push term below is exactly zero, so the vectorised pass can cover the whole row.
                var same = members[i];
                var pullSum = T.Zero;
                for (var k = 0; k < same.Length; k++)
                {
                    var j = same[k];
                    var r = j == i ? T.Zero : T.Max(d[j] - mp, T.Zero);
                    pull[k] = r;
                    pullSum += r * r;
                    d[j] = T.PositiveInfinity;
                }
                // Negatives: push inside the negative margin, r = -max(mn - d, 0); dLoss/d(d^2) = 2 r dd/d(d^2).
                var aRow = withGradient ? a.Slice(row, n) : Span<T>.Empty;
                var pushSum = PushRow<T>(d, half, aRow, mn, two);
                total += double.CreateTruncating(pullSum + pushSum);
                if (!withGradient) continue;
                for (var k = 0; k < same.Length; k++) aRow[same[k]] = two * pull[k] * half[same[k]];
                FusedPairwise.SymmetricDistanceWeightsRow(aRow, i);
            }
            return total;
        });
        return sum;
    }

    /// <summary>
    /// The push terms of one row, r = -max(mn - d, 0): returns the sum of r^2 and, if <paramref name="a"/> is not empty,
    /// writes 2 r dd/d(d^2) into it; vectorised.
    /// </summary>
    private static T PushRow<T>(ReadOnlySpan<T> d, ReadOnlySpan<T> half, Span<T> a, T mn, T two)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var withGradient = !a.IsEmpty;
        var sum = T.Zero;
        var j = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var acc = Vector<T>.Zero;
            var vmn = new Vector<T>(mn);
            var vtwo = new Vector<T>(two);
            for (; j <= d.Length - Vector<T>.Count; j += Vector<T>.Count)
            {
                var r = -Vector.Max(vmn - new Vector<T>(d[j..]), Vector<T>.Zero);
                acc += r * r;
                if (withGradient) (vtwo * r * new Vector<T>(half[j..])).CopyTo(a[j..]);
            }
            sum = Vector.Sum(acc);
        }
        for (; j < d.Length; j++)
        {
            var r = -T.Max(mn - d[j], T.Zero);
            sum += r * r;
            if (withGradient) a[j] = two * r * half[j];
        }
        return sum;
    }
}
