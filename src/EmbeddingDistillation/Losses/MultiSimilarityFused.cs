using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using EmbeddingDistillation.Primitives;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Losses;

/// <summary>
/// Fused CPU path of <see cref="MultiSimilarityLoss"/>: the similarity matrix S = X X^T comes from torch, one C# pass
/// per anchor mines the pairs, computes the two log-sum-exp terms and dLoss/dS, and W = G + G^T gives dLoss/dx = W x.
/// Same mining decisions (made in the input's precision) and the same values and gradients as the torch form. The
/// negatives' terms run eight at a time in float32 with the bits of the scalar loop (<c>MultiSimilarityFusedBitsTests</c>).
/// </summary>
internal static class MultiSimilarityFused
{
    internal static Tensor Forward(Tensor embeddings, Tensor labels, MultiSimilarityLossOptions options)
    {
        var n = (int)embeddings.shape[0];
        var s = FusedPairwise.Gram(embeddings);
        var y = FusedPairwise.Labels(labels);
        var weights = FusedPairwise.NeedsGradient(embeddings) ? FusedPairwise.NewWeights(embeddings) : null;
        if (!FusedPairwise.FiniteDiagonal(s, n)) return FusedPairwise.NonFiniteLoss(embeddings, weights);
        var sum = embeddings.dtype == ScalarType.Float32
            ? Run<float>(s, y, weights, n, options)
            : Run<double>(s, y, weights, n, options);
        return FusedPairwise.Finish(embeddings, sum / n, weights, 1.0 / n);
    }

    private static double Run<T>(Tensor sTensor, long[] y, Tensor? weights, int n, MultiSimilarityLossOptions o)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var eps = T.CreateTruncating(o.Epsilon);
        var lambda = T.CreateTruncating(o.Lambda);
        var minusAlpha = T.CreateTruncating(-o.Alpha);
        var beta = T.CreateTruncating(o.Beta);
        var withGradient = weights is not null;
        var members = FusedPairwise.ClassMembers(y);
        var sum = FusedPairwise.ForRows(n, (start, end) =>
        {
            var s = FusedPairwise.Elements<T>(sTensor);
            var g = withGradient ? FusedPairwise.Elements<T>(weights!) : Span<T>.Empty;
            var e = new T[n];
            double total = 0;
            for (var i = start; i < end; i++)
            {
                var row = i * n;
                // The hardest positive (a scan of the anchor's class) and the hardest negative (a vectorised maximum
                // over the row with the anchor's class masked out): the mining thresholds.
                var minPos = T.PositiveInfinity;
                var same = members[i];
                s.Slice(row, n).CopyTo(e);
                foreach (var j in same)
                {
                    if (j != i) minPos = T.Min(minPos, e[j]);
                    e[j] = T.NegativeInfinity;
                }
                var maxNeg = FusedPairwise.Maximum<T>(e);
                // Mining, then the kept terms exp(beta (S - lambda)) of the negatives (in place in e, where the
                // anchor's class is -inf and so never kept) and exp(-alpha (S - lambda)) of the positives.
                double posSum = 0, negSum = 0;
                var anyNeg = NegativeTerms(e, eps, minPos, beta, lambda, ref negSum);
                var anyPos = false;
                foreach (var j in same)
                {
                    var v = s[row + j];
                    e[j] = T.Zero;
                    if (j != i && v - eps < maxNeg) { e[j] = T.Exp(minusAlpha * (v - lambda)); posSum += double.CreateTruncating(e[j]); anyPos = true; }
                }
                var valid = anyPos && anyNeg;
                if (valid) total += Math.Log(1 + posSum) / o.Alpha + Math.Log(1 + negSum) / o.Beta;
                if (!withGradient) continue;
                // dLoss/dS_ij = -e / (1 + posSum) for kept positives, e / (1 + negSum) for kept negatives.
                var pos = T.CreateTruncating(valid ? -1 / (1 + posSum) : 0);
                var neg = T.CreateTruncating(valid ? 1 / (1 + negSum) : 0);
                var gRow = g.Slice(row, n);
                Scale(e, neg, gRow);
                foreach (var j in same) gRow[j] = e[j] * pos;
            }
            return total;
        });
        if (withGradient) FusedPairwise.GramWeights<T>(weights!, n);
        return sum;
    }

    /// <summary>
    /// Replaces each entry S of <paramref name="e"/> by exp(beta (S - lambda)) where S + eps &gt; minPos (a kept
    /// negative) and by 0 elsewhere, adds the kept terms to <paramref name="sum"/> in index order (so the sum, like
    /// every term, has the bits of the scalar loop) and returns whether any was kept. float32 runs eight lanes at a
    /// time through <see cref="VectorExp"/>, which returns MathF.Exp's bits.
    /// </summary>
    private static bool NegativeTerms<T>(Span<T> e, T eps, T minPos, T beta, T lambda, ref double sum)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var any = false;
        var j = 0;
        if (typeof(T) == typeof(float) && VectorExp.IsAccelerated)
        {
            var f = MemoryMarshal.Cast<T, float>(e);
            var vEps = Vector256.Create(float.CreateTruncating(eps));
            var vMin = Vector256.Create(float.CreateTruncating(minPos));
            var vBeta = Vector256.Create(float.CreateTruncating(beta));
            var vLambda = Vector256.Create(float.CreateTruncating(lambda));
            for (; j <= f.Length - Vector256<float>.Count; j += Vector256<float>.Count)
            {
                var v = Vector256.Create<float>(f[j..]);
                var keep = Vector256.GreaterThan(v + vEps, vMin);
                // Entries not kept take exp(0), then 0: an -inf or NaN lane would send the whole vector to the scalar exp.
                var terms = Vector256.ConditionalSelect(keep, VectorExp.Exp(vBeta * (Vector256.ConditionalSelect(keep, v, vLambda) - vLambda)), Vector256<float>.Zero);
                terms.CopyTo(f[j..]);
                if (keep == Vector256<float>.Zero) continue;
                any = true;
                // In index order, zeros included (adding +0 to a sum of non-negative terms changes nothing): a
                // branch per kept lane costs more than the adds.
                var low = Avx.ConvertToVector256Double(terms.GetLower());
                var high = Avx.ConvertToVector256Double(terms.GetUpper());
                sum += low.GetElement(0); sum += low.GetElement(1); sum += low.GetElement(2); sum += low.GetElement(3);
                sum += high.GetElement(0); sum += high.GetElement(1); sum += high.GetElement(2); sum += high.GetElement(3);
            }
        }
        for (; j < e.Length; j++)
        {
            var v = e[j];
            e[j] = T.Zero;
            if (v + eps > minPos) { e[j] = T.Exp(beta * (v - lambda)); sum += double.CreateTruncating(e[j]); any = true; }
        }
        return any;
    }

    /// <summary>destination = source * c, vectorised (the same product per entry as a scalar loop).</summary>
    private static void Scale<T>(ReadOnlySpan<T> source, T c, Span<T> destination) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var j = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var vc = new Vector<T>(c);
            for (; j <= source.Length - Vector<T>.Count; j += Vector<T>.Count) (new Vector<T>(source[j..]) * vc).CopyTo(destination[j..]);
        }
        for (; j < source.Length; j++) destination[j] = source[j] * c;
    }
}
