using EmbeddingDistillation.Evaluation;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Tests.Evaluation;

/// <summary>The SOP protocol: a random subset of queries against the whole set, self-match excluded.</summary>
public class SubsetRetrievalTests
{
    [Fact]
    public void SubsetRetrievalWithAllQueriesEqualsTheFullProtocol()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(5);
        var emb = nn.functional.normalize(randn(60, 8, generator: g), dim: 1);
        var labels = arange(60, dtype: ScalarType.Int64) % 7;
        int[] ks = [1, 2, 4, 8, 16];
        var full = RetrievalMetrics.Evaluate(emb, labels, ks);
        var subset = SubsetRetrieval.Evaluate(emb, labels, 1000, ks, seed: 1);
        Assert.Equal(60, subset.QueryCount);
        foreach (var k in ks) Assert.Equal(full.RecallAtK[k], subset.RecallAtK[k], 12);
        Assert.Equal(full.MapAtR, subset.MapAtR, 12);
        Assert.Equal(full.RPrecision, subset.RPrecision, 12);

        // A subset: the same per-query answers, averaged over the drawn queries only.
        var part = SubsetRetrieval.Evaluate(emb, labels, 20, ks, seed: 1);
        Assert.Equal(20, part.QueryCount);
        Assert.InRange(part.RecallAtK[1], 0, 1);
        Assert.True(part.RecallAtK[16] >= part.RecallAtK[1]);
    }
}
