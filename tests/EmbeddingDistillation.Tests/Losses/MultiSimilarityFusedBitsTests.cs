using EmbeddingDistillation.Losses;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Tests.Losses;

/// <summary>
/// Multi-similarity's fused path (vectorised mining and exp, W = G + G^T in blocks) against the plain scalar loop it
/// replaced, in float32: the same loss and the same gradient bit for bit, so that every training run that uses it (the
/// quickstart's students all do) keeps its bits. Batches with ties, single-member classes and unnormalised rows
/// (exp arguments below -88, which take MathF.Exp).
/// </summary>
public class MultiSimilarityFusedBitsTests
{
    /// <summary>The scalar row loop: loss, and W = G + G^T with G = dLoss/dS.</summary>
    private static (float Loss, float[] W) Reference(float[] s, long[] y, int n, MultiSimilarityLossOptions o)
    {
        float eps = (float)o.Epsilon, lambda = (float)o.Lambda, minusAlpha = (float)-o.Alpha, beta = (float)o.Beta;
        var g = new float[n * n];
        double total = 0;
        for (var i = 0; i < n; i++)
        {
            float minPos = float.PositiveInfinity, maxNeg = float.NegativeInfinity;
            for (var j = 0; j < n; j++)
            {
                if (y[j] == y[i]) { if (j != i) minPos = MathF.Min(minPos, s[i * n + j]); }
                else maxNeg = MathF.Max(maxNeg, s[i * n + j]);
            }
            double posSum = 0, negSum = 0;
            bool anyPos = false, anyNeg = false;
            var e = new float[n];
            for (var j = 0; j < n; j++)
            {
                var v = s[i * n + j];
                if (y[j] != y[i]) { if (v + eps > minPos) { e[j] = MathF.Exp(beta * (v - lambda)); negSum += e[j]; anyNeg = true; } }
                else if (j != i && v - eps < maxNeg) { e[j] = MathF.Exp(minusAlpha * (v - lambda)); posSum += e[j]; anyPos = true; }
            }
            var valid = anyPos && anyNeg;
            if (valid) total += Math.Log(1 + posSum) / o.Alpha + Math.Log(1 + negSum) / o.Beta;
            var pos = (float)(valid ? -1 / (1 + posSum) : 0);
            var neg = (float)(valid ? 1 / (1 + negSum) : 0);
            for (var j = 0; j < n; j++) g[i * n + j] = e[j] * (y[j] == y[i] ? pos : neg);
        }
        var w = new float[n * n];
        for (var i = 0; i < n; i++)
            for (var j = 0; j < n; j++)
                w[i * n + j] = g[i * n + j] + g[j * n + i];
        return ((float)(total / n), w);
    }

    [Theory]
    [InlineData(16, 4, 1.0, "normalised")]
    [InlineData(100, 8, 1.0, "ties")]
    [InlineData(256, 8, 1.0, "normalised")]
    [InlineData(203, 3, 1.0, "single-member classes")]
    [InlineData(64, 8, 1.6, "unnormalised")]
    public void LossAndGradientKeepTheScalarLoopsBits(int n, int perClass, double scale, string kind)
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(n);
        var x = nn.functional.normalize(torch.randn(n, 24), dim: 1) * scale;
        if (kind == "ties") { x[1] = x[0]; x[2] = x[0]; x = (x * 4).round() / 4; }
        var labels = torch.arange(n, dtype: ScalarType.Int64).div(perClass, RoundingMode.floor);
        if (kind == "single-member classes") labels[n - 1] = 1000;
        var options = new MultiSimilarityLossOptions();
        var input = x.clone().requires_grad_(true);
        var loss = MultiSimilarityFused.Forward(input, labels, options);
        var gradient = torch.autograd.grad(new[] { loss }, new[] { input })[0];

        var s = x.mm(x.t()).data<float>().ToArray();
        var (expectedLoss, w) = Reference(s, labels.data<long>().ToArray(), n, options);
        var expectedGradient = torch.tensor(w, n, n).mm(x) * (1.0 / n);
        Assert.Equal(BitConverter.SingleToInt32Bits(expectedLoss), BitConverter.SingleToInt32Bits(loss.item<float>()));
        Assert.Equal(expectedGradient.data<float>().Select(BitConverter.SingleToInt32Bits), gradient.data<float>().Select(BitConverter.SingleToInt32Bits));
    }
}
