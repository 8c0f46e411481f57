using System.Numerics;
using EmbeddingDistillation.Primitives;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Losses;

/// <summary>
/// Fused CPU path of <see cref="ContrastiveLoss"/>: the squared-distance matrix comes from torch, one C# pass per row
/// computes the pull/push terms and dLoss/d(d^2), symmetric, and turns the row into its row of W (dLoss/dx = W x) while
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
        var sum = FusedPairwise.ForRows(n, (start, end) =>
        {
            var d2 = FusedPairwise.Elements<T>(d2Tensor);
            var a = withGradient ? FusedPairwise.Elements<T>(weights!) : Span<T>.Empty;
            var d = new T[n];
            var half = new T[withGradient ? n : 0];
            double total = 0;
            for (var i = start; i < end; i++)
            {
                var row = i * n;
                FusedPairwise.RowDistances<T>(d2.Slice(row, n), d, half, clamp);
                var rowSum = T.Zero;
                for (var j = 0; j < n; j++)
                {
                    // Pull positives beyond the positive margin, push negatives inside the negative margin.
                    var r = y[j] == y[i] ? (j == i ? T.Zero : T.Max(d[j] - mp, T.Zero)) : -T.Max(mn - d[j], T.Zero);
                    rowSum += r * r;
                    if (withGradient) a[row + j] = two * r * half[j];
                }
                total += double.CreateTruncating(rowSum);
                if (withGradient) FusedPairwise.SymmetricDistanceWeightsRow(a.Slice(row, n), i);
            }
            return total;
        });
        return sum;
    }
}
