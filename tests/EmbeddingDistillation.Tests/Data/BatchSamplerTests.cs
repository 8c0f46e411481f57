using EmbeddingDistillation.Data;

namespace EmbeddingDistillation.Tests.Data;

public class BatchSamplerTests
{
    [Fact]
    public void SequentialCoversAllInOrderWithSmallerLastBatch()
    {
        var sampler = new BatchSampler(10, 4);
        var batches = sampler.Epoch(0);
        Assert.Equal(3, sampler.BatchesPerEpoch);
        Assert.Equal(Enumerable.Range(0, 10), batches.SelectMany(b => b));
        Assert.Equal(2, batches[2].Length);
    }

    [Fact]
    public void ShuffledIsAPermutationDeterministicPerSeedAndEpoch()
    {
        var indices = Enumerable.Range(100, 50).ToArray();
        var a = new BatchSampler(indices, 8, shuffle: true, dropLast: true, seed: 4);
        var b = new BatchSampler(indices, 8, shuffle: true, dropLast: true, seed: 4);
        Assert.Equal(6, a.BatchesPerEpoch);
        var e0 = a.Epoch(0);
        Assert.All(e0, batch => Assert.Equal(8, batch.Length));
        Assert.Equal(48, e0.SelectMany(x => x).Distinct().Count());
        Assert.All(e0.SelectMany(x => x), i => Assert.InRange(i, 100, 149));
        Assert.Equal(e0, b.Epoch(0));
        Assert.NotEqual(e0, a.Epoch(1));
        Assert.NotEqual(Enumerable.Range(100, 48), e0.SelectMany(x => x));
    }
}
