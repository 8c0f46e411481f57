using System.Numerics;
using EmbeddingDistillation.Primitives;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Losses;

/// <summary>
/// Fused CPU path of batch-hard <see cref="TripletLoss"/>: the squared-distance matrix comes from torch, one C# pass
/// per anchor finds the hardest positive and negative (ties share the gradient evenly, as torch's amax/amin do), and
/// the few selected entries of dLoss/d(d^2) become W (dLoss/dx = W x). Same values and gradients as the torch form.
/// </summary>
internal static class TripletBatchHardFused
{
    internal static Tensor Forward(Tensor embeddings, Tensor labels, double margin)
    {
        var n = (int)embeddings.shape[0];
        var d2 = FusedPairwise.SquaredDistances(embeddings);
        var y = FusedPairwise.Labels(labels);
        var weights = FusedPairwise.NeedsGradient(embeddings) ? FusedPairwise.NewWeights(embeddings) : null;
        double loss = embeddings.dtype == ScalarType.Float32
            ? Run<float>(d2, y, weights, n, margin)
            : Run<double>(d2, y, weights, n, margin);
        return FusedPairwise.Finish(embeddings, loss, weights);
    }

    private static double Run<T>(Tensor d2Tensor, long[] y, Tensor? weights, int n, double margin)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var d2 = FusedPairwise.Elements<T>(d2Tensor);
        var clamp = T.CreateTruncating(PairwiseDistances.DefaultClamp);
        var m = T.CreateTruncating(margin);
        // Per anchor: hardest positive/negative distance and their tie counts; active anchors contribute.
        var hardPos = new T[n];
        var hardNeg = new T[n];
        var posTies = new int[n];
        var negTies = new int[n];
        var active = new bool[n];
        var valid = 0;
        double sum = 0;
        for (var i = 0; i < n; i++)
        {
            var row = i * n;
            T maxP = T.Zero, minN = T.Zero;
            int cp = 0, cn = 0;
            for (var j = 0; j < n; j++)
            {
                var d = FusedPairwise.Distance(d2[row + j], clamp);
                if (y[j] == y[i])
                {
                    if (j == i) continue;
                    if (cp == 0 || d > maxP) { maxP = d; cp = 1; }
                    else if (d == maxP) cp++;
                }
                else if (cn == 0 || d < minN) { minN = d; cn = 1; }
                else if (d == minN) cn++;
            }
            if (cp == 0 || cn == 0) continue;
            valid++;
            var v = maxP - minN + m;
            if (v > T.Zero)
            {
                sum += double.CreateTruncating(v);
                active[i] = true;
                hardPos[i] = maxP; hardNeg[i] = minN; posTies[i] = cp; negTies[i] = cn;
            }
        }
        var count = Math.Max(valid, 1);
        if (weights is not null)
        {
            var a = FusedPairwise.Elements<T>(weights);
            a.Clear();
            for (var i = 0; i < n; i++)
            {
                if (!active[i]) continue;
                var row = i * n;
                var gp = T.CreateTruncating(1.0 / posTies[i]);
                var gn = T.CreateTruncating(-1.0 / negTies[i]);
                for (var j = 0; j < n; j++)
                {
                    if (j == i) continue;
                    var d = FusedPairwise.Distance(d2[row + j], clamp);
                    var same = y[j] == y[i];
                    if (same && d == hardPos[i]) a[row + j] = gp * FusedPairwise.HalfInverse(d2[row + j], d, clamp);
                    else if (!same && d == hardNeg[i]) a[row + j] = gn * FusedPairwise.HalfInverse(d2[row + j], d, clamp);
                }
            }
            FusedPairwise.DistanceWeights(a, n, 1.0 / count);
        }
        return sum / count;
    }
}
