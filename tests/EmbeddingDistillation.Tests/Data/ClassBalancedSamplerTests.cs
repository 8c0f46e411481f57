using EmbeddingDistillation.Data;

namespace EmbeddingDistillation.Tests.Data;

public class ClassBalancedSamplerTests
{
    // 10 classes x 12 images, plus 20 unlabelled samples interleaved.
    private static int[] Labels()
    {
        var labels = new List<int>();
        for (var i = 0; i < 140; i++) labels.Add(i % 7 == 3 ? DatasetLabels.Unlabelled : labels.Count(l => l >= 0) / 12);
        return labels.ToArray();
    }

    [Fact]
    public void BatchesHoldPDistinctClassesWithKImagesEach()
    {
        var labels = Labels();
        var sampler = new ClassBalancedSampler(labels, new ClassBalancedSamplerOptions { Seed = 3 });
        Assert.Equal(32, sampler.BatchSize);
        foreach (var batch in sampler.Epoch(0))
        {
            Assert.Equal(32, batch.Length);
            var groups = batch.GroupBy(i => labels[i]).ToList();
            Assert.Equal(4, groups.Count);
            Assert.All(groups, g => Assert.Equal(8, g.Count()));
            Assert.All(groups, g => Assert.Equal(8, g.Distinct().Count())); // 12 >= K images: no duplicates
        }
    }

    [Fact]
    public void UnlabelledSamplesAreNeverDrawn()
    {
        var labels = Labels();
        var sampler = new ClassBalancedSampler(labels, new ClassBalancedSamplerOptions { Seed = 1, BatchesPerEpoch = 50 });
        Assert.All(sampler.Epoch(2).SelectMany(b => b), i => Assert.NotEqual(DatasetLabels.Unlabelled, labels[i]));
    }

    [Fact]
    public void DeterministicForSeedAndEpoch()
    {
        var labels = Labels();
        var a = new ClassBalancedSampler(labels, new ClassBalancedSamplerOptions { Seed = 7 });
        var b = new ClassBalancedSampler(labels, new ClassBalancedSamplerOptions { Seed = 7 });
        var c = new ClassBalancedSampler(labels, new ClassBalancedSamplerOptions { Seed = 8 });
        Assert.Equal(a.Epoch(1), b.Epoch(1));
        Assert.NotEqual(a.Epoch(1), c.Epoch(1));
        Assert.NotEqual(a.Epoch(1), a.Epoch(2));
    }

    [Fact]
    public void DefaultEpochLengthIsLabelledImagesOverBatchSize()
    {
        var labels = Labels(); // 120 labelled
        var sampler = new ClassBalancedSampler(labels);
        Assert.Equal(120, sampler.LabelledSampleCount);
        Assert.Equal(120 / 32, sampler.BatchesPerEpoch);
        Assert.Equal(3, sampler.Epoch(0).Count);
        var custom = new ClassBalancedSampler(labels, new ClassBalancedSamplerOptions { BatchesPerEpoch = 11 });
        Assert.Equal(11, custom.Epoch(0).Count);
    }

    [Fact]
    public void SmallClassesAreFilledWithReplacementOrSkipped()
    {
        // Class 0 has 3 images, classes 1..4 have 10.
        var labels = Enumerable.Repeat(0, 3).Concat(Enumerable.Range(1, 4).SelectMany(c => Enumerable.Repeat(c, 10))).ToArray();
        var options = new ClassBalancedSamplerOptions { ClassesPerBatch = 5, ImagesPerClass = 8, BatchesPerEpoch = 4 };
        var sampler = new ClassBalancedSampler(labels, options);
        foreach (var batch in sampler.Epoch(0))
        {
            var small = batch.Where(i => labels[i] == 0).ToArray();
            Assert.Equal(8, small.Length);
            Assert.Equal(new[] { 0, 1, 2 }, small.Distinct().Order().ToArray()); // every image at least once
        }

        var skipping = new ClassBalancedSampler(labels, new ClassBalancedSamplerOptions { ClassesPerBatch = 4, SkipClassesWithFewerThanK = true });
        Assert.DoesNotContain(0, skipping.Classes);
        Assert.All(skipping.Epoch(0).SelectMany(b => b), i => Assert.NotEqual(0, labels[i]));
    }

    [Fact]
    public void TooFewClassesGivesAClearError()
    {
        var labels = new[] { 0, 0, 1, 1, 2, 2, DatasetLabels.Unlabelled };
        var ex = Assert.Throws<ArgumentException>(() => new ClassBalancedSampler(labels));
        Assert.Contains("P = 4", ex.Message);
        Assert.Contains("only 3 usable classes", ex.Message);

        var labels2 = Enumerable.Range(0, 5).SelectMany(c => Enumerable.Repeat(c, c < 2 ? 8 : 2)).ToArray();
        var ex2 = Assert.Throws<ArgumentException>(() =>
            new ClassBalancedSampler(labels2, new ClassBalancedSamplerOptions { SkipClassesWithFewerThanK = true }));
        Assert.Contains("5 labelled classes, 2 of them with at least K = 8", ex2.Message);
    }

    [Fact]
    public void InvalidLabelIsNamed()
    {
        var ex = Assert.Throws<ArgumentException>(() => new ClassBalancedSampler(new[] { 0, 1, -5, 2 }));
        Assert.Contains("sample 2", ex.Message);
    }
}
