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
        if (!FusedPairwise.FiniteDiagonal(d2, n)) return FusedPairwise.NonFiniteLoss(embeddings, weights);
        double loss = embeddings.dtype == ScalarType.Float32
            ? Run<float>(d2, y, weights, n, margin)
            : Run<double>(d2, y, weights, n, margin);
        return FusedPairwise.Finish(embeddings, loss, weights);
    }

    private static double Run<T>(Tensor d2Tensor, long[] y, Tensor? weights, int n, double margin)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var clamp = T.CreateTruncating(PairwiseDistances.DefaultClamp);
        var m = T.CreateTruncating(margin);
        // Per anchor: the value relu(d_ap - d_an + m) if it is active (> 0), else NaN; -1 marks anchors without a triplet.
        var perAnchor = new double[n];
        // The hardest positive/negative of each anchor and how many entries tie with it (ties are rescanned below).
        var posIndex = new int[n];
        var negIndex = new int[n];
        var posTies = new int[n];
        var negTies = new int[n];
        var members = FusedPairwise.ClassMembers(y);
        FusedPairwise.ForRows(n, (start, end) =>
        {
            var d2 = FusedPairwise.Elements<T>(d2Tensor);
            var d = new T[n];
            // W is sparse: its rows are cleared here, in parallel, before the pass below adds the selected pairs.
            if (weights is not null) FusedPairwise.Elements<T>(weights).Slice(start * n, (end - start) * n).Clear();
            for (var i = start; i < end; i++)
            {
                FusedPairwise.RowDistances<T>(d2.Slice(i * n, n), d, Span<T>.Empty, clamp);
                // The hardest positive: a scan of the anchor's class (ascending, so the first of tied entries is kept).
                T maxP = T.Zero;
                bool hasP = false;
                int ip = 0, cp = 0;
                var same = members[i];
                foreach (var j in same)
                {
                    if (j == i) continue;
                    var dj = d[j];
                    if (!hasP || dj > maxP) { maxP = dj; hasP = true; ip = j; cp = 1; }
                    else if (dj == maxP) cp++;
                }
                // The hardest negative: a vectorised minimum over the row with the anchor's class masked out.
                var hasN = same.Length < n;
                foreach (var j in same) d[j] = T.PositiveInfinity;
                var (minN, iN, cn) = hasN ? FusedPairwise.MinimumWithTies<T>(d) : (T.Zero, 0, 0);
                posIndex[i] = ip; negIndex[i] = iN; posTies[i] = cp; negTies[i] = cn;
                if (!hasP || !hasN) { perAnchor[i] = -1; continue; }
                var v = maxP - minN + m;
                perAnchor[i] = v > T.Zero ? double.CreateTruncating(v) : 0;
            }
            return 0;
        });
        var valid = 0;
        double sum = 0;
        foreach (var v in perAnchor)
        {
            if (v < 0) continue;
            valid++;
            sum += v;
        }
        var count = Math.Max(valid, 1);
        if (weights is not null)
        {
            // Sparse gradient: per active anchor, the hardest positive(s) and negative(s); ties share it evenly.
            var w = FusedPairwise.Elements<T>(weights);
            var d2 = FusedPairwise.Elements<T>(d2Tensor);
            var d = new T[n];
            var picks = new List<int>();
            for (var i = 0; i < n; i++)
            {
                if (!(perAnchor[i] > 0)) continue;
                AddHardest(w, d2, d, picks, y, i, posIndex[i], posTies[i], positive: true, count, clamp);
                AddHardest(w, d2, d, picks, y, i, negIndex[i], negTies[i], positive: false, count, clamp);
            }
        }
        return sum / count;
    }

    /// <summary>Adds anchor i's hardest positive (or negative) pair(s) to W; tied entries share the gradient evenly.</summary>
    private static void AddHardest<T>(Span<T> w, Span<T> d2, T[] d, List<int> picks, long[] y, int i, int index, int ties, bool positive, int count, T clamp)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var n = d.Length;
        var row = i * n;
        picks.Clear();
        if (ties == 1) picks.Add(index);
        else
        {
            FusedPairwise.RowDistances<T>(d2.Slice(row, n), d, Span<T>.Empty, clamp);
            for (var j = 0; j < n; j++)
                if (j != i && (y[j] == y[i]) == positive && d[j] == d[index]) picks.Add(j);
        }
        var c = T.CreateTruncating((positive ? 1.0 : -1.0) / (picks.Count * (double)count));
        foreach (var j in picks)
        {
            var dij = FusedPairwise.Distance(d2[row + j], clamp);
            FusedPairwise.AddPair(w, n, i, j, c * FusedPairwise.HalfInverse(d2[row + j], dij, clamp));
        }
    }
}
