using EmbeddingDistillation.Primitives;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Tests.Primitives;

/// <summary>
/// <see cref="FusedPairwise.GramWeights{T}"/> (W = g + g^T in place; float32 in 8 x 8 AVX blocks, the rest in scalar
/// tiles) against w_ij = g_ij + g_ji computed entry by entry, bit for bit, at sizes around the block width and the
/// parallel threshold.
/// </summary>
public class GramWeightsTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(9)]
    [InlineData(17)]
    [InlineData(100)]
    [InlineData(255)]
    [InlineData(256)]
    [InlineData(263)]
    public void EqualsTheEntrywiseSumWithTheTranspose(int n)
    {
        foreach (var dtype in new[] { ScalarType.Float32, ScalarType.Float64 })
        {
            using var scope = torch.NewDisposeScope();
            torch.manual_seed(n);
            var g = torch.randn(n, n, dtype: dtype);
            var a = g.to_type(ScalarType.Float64).data<double>().ToArray();
            var e = new double[n * n];
            for (var i = 0; i < n; i++)
                for (var j = 0; j < n; j++)
                    e[i * n + j] = dtype == ScalarType.Float32 ? (float)a[i * n + j] + (float)a[j * n + i] : a[i * n + j] + a[j * n + i];
            var expected = torch.tensor(e, n, n);
            if (dtype == ScalarType.Float32) FusedPairwise.GramWeights<float>(g, n);
            else FusedPairwise.GramWeights<double>(g, n);
            Assert.True(g.to_type(ScalarType.Float64).eq(expected).all().item<bool>(), $"{dtype}, n = {n}: W differs from g + g^T");
        }
    }
}
