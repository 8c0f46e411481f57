using EmbeddingDistillation.Primitives;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Tests.Evaluation;

/// <summary>The kNN's scoring kernel (added to PairwiseDistances for the evaluation) against the full kernel.</summary>
public class RowShiftedScoresTests
{
    [Theory]
    [InlineData(ScalarType.Float32, 1e-4)]
    [InlineData(ScalarType.Float64, 1e-12)]
    public void PlusRowNormIsTheSquaredDistance(ScalarType dtype, double tolerance)
    {
        var x = randn([7, 5], dtype: dtype, generator: new TorchSharp.torch.Generator(4));
        var y = randn([9, 5], dtype: dtype, generator: new TorchSharp.torch.Generator(5));
        var scores = PairwiseDistances.SquaredEuclideanRowShifted(x, y);
        var withNorms = PairwiseDistances.SquaredEuclideanRowShifted(x, y, y.pow(2).sum(1));
        var full = PairwiseDistances.SquaredEuclidean(x, y);
        Assert.Equal(new long[] { 7, 9 }, scores.shape);
        Assert.True((scores + x.pow(2).sum(1, keepdim: true)).allclose(full, rtol: tolerance, atol: tolerance));
        Assert.True(withNorms.allclose(scores, rtol: tolerance, atol: tolerance));
        Assert.Throws<ArgumentException>(() => PairwiseDistances.SquaredEuclideanRowShifted(x, y, zeros(8, dtype: dtype)));
        Assert.Throws<ArgumentException>(() => PairwiseDistances.SquaredEuclideanRowShifted(x, randn(9, 4, dtype: dtype)));
    }
}
