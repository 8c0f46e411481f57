using System.Numerics;
using EmbeddingDistillation.Primitives;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Losses;

/// <summary>
/// Fused CPU path of <see cref="MultiSimilarityLoss"/>: the similarity matrix S = X X^T comes from torch, one C# pass
/// per anchor mines the pairs, computes the two log-sum-exp terms and dLoss/dS, and W = G + G^T gives dLoss/dx = W x.
/// Same mining decisions (made in the input's precision) and the same values and gradients as the torch form.
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
                var yi = y[i];
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
                // Mining, then the kept terms exp(-alpha (S - lambda)) and exp(beta (S - lambda)).
                double posSum = 0, negSum = 0;
                bool anyPos = false, anyNeg = false;
                for (var j = 0; j < n; j++)
                {
                    var v = s[row + j];
                    e[j] = T.Zero;
                    if (y[j] != yi)
                    {
                        if (v + eps > minPos) { e[j] = T.Exp(beta * (v - lambda)); negSum += double.CreateTruncating(e[j]); anyNeg = true; }
                    }
                    else if (j != i && v - eps < maxNeg)
                    {
                        e[j] = T.Exp(minusAlpha * (v - lambda)); posSum += double.CreateTruncating(e[j]); anyPos = true;
                    }
                }
                var valid = anyPos && anyNeg;
                if (valid) total += Math.Log(1 + posSum) / o.Alpha + Math.Log(1 + negSum) / o.Beta;
                if (!withGradient) continue;
                // dLoss/dS_ij = -e / (1 + posSum) for kept positives, e / (1 + negSum) for kept negatives.
                var pos = T.CreateTruncating(valid ? -1 / (1 + posSum) : 0);
                var neg = T.CreateTruncating(valid ? 1 / (1 + negSum) : 0);
                for (var j = 0; j < n; j++) g[row + j] = e[j] * (y[j] == yi ? pos : neg);
            }
            return total;
        });
        if (withGradient) FusedPairwise.GramWeights<T>(weights!, n);
        return sum;
    }
}
