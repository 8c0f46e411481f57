using EmbeddingDistillation.Data;
using EmbeddingDistillation.Primitives;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Tests.Data;

/// <summary>Generates the default dataset once for the tests that need it.</summary>
public sealed class DefaultSyntheticFixture
{
    public SyntheticFineGrainedDataset Dataset { get; } = SyntheticFineGrainedDataset.Generate();
}

public class SyntheticFineGrainedDatasetTests(DefaultSyntheticFixture fixture, ITestOutputHelper output) : IClassFixture<DefaultSyntheticFixture>
{
    private static SyntheticDatasetOptions Small(int seed = 0) => new() { ClassCount = 6, ImagesPerClass = 4, Seed = seed };

    [Fact]
    public void DefaultSetHasTheDocumentedSizeAndIsGeneratedQuickly()
    {
        var ds = fixture.Dataset;
        output.WriteLine($"Generated {ds.Count} images in {ds.GenerationTime.TotalSeconds:F2} s");
        Assert.Equal(5000, ds.Count);
        Assert.Equal(32, ds.Height);
        Assert.Equal(32, ds.Width);
        Assert.Equal(100, ds.Classes.Count);
        Assert.All(ds.Labels.GroupBy(l => l), g => Assert.Equal(50, g.Count()));
        Assert.Equal(Enumerable.Range(0, 100), ds.Labels.Distinct().Order());
        Assert.True(ds.GenerationTime < TimeSpan.FromSeconds(30), $"Generation took {ds.GenerationTime}.");
    }

    [Fact]
    public void ClassesAreDistinctCombinationsThatShareEachAttribute()
    {
        var classes = fixture.Dataset.Classes;
        Assert.Equal(classes.Count, classes.Select(c => (c.Shape, c.Colours.Index, c.Pattern)).Distinct().Count());
        Assert.All(classes.GroupBy(c => c.Shape), g => Assert.True(g.Count() >= 5, $"{g.Key}: {g.Count()} classes"));
        Assert.All(classes.GroupBy(c => c.Colours.Index), g => Assert.True(g.Count() >= 5, $"scheme {g.Key}: {g.Count()} classes"));
        Assert.All(classes.GroupBy(c => c.Pattern), g => Assert.True(g.Count() >= 5, $"{g.Key}: {g.Count()} classes"));
        Assert.Equal(8, classes.Select(c => c.Shape).Distinct().Count());
        Assert.Equal(8, classes.Select(c => c.Colours.Index).Distinct().Count());
        Assert.Equal(6, classes.Select(c => c.Pattern).Distinct().Count());
    }

    [Fact]
    public void RawPixelNearestNeighboursAreWeakOnTheTestHalf()
    {
        // Difficulty guard: colour/layout matching on raw pixels must not solve the unseen-class retrieval task.
        var ds = fixture.Dataset;
        var split = ClassSplit.PaperProtocol(ds.Labels, 0.0);
        using var scope = NewDisposeScope();
        var x = ds.LoadRawImages(split.TestIndices);
        var labels = torch.tensor(split.TestIndices.Select(i => (long)ds.Labels[i]).ToArray());
        var rawRecall = RecallAt1(x.reshape(x.shape[0], -1), labels);
        var meanColourRecall = RecallAt1(x.mean([2, 3]), labels);
        output.WriteLine($"Test half: raw-pixel Recall@1 {rawRecall:F3}, mean-colour Recall@1 {meanColourRecall:F3}");
        Assert.InRange(rawRecall, 0.02, 0.3);           // above chance (1/50): the images do carry class signal
        Assert.InRange(meanColourRecall, 0.0, 0.15);
    }

    [Fact]
    public void SameSeedGivesIdenticalImagesAndDifferentSeedDifferentOnes()
    {
        var a = SyntheticFineGrainedDataset.Generate(Small(1));
        var b = SyntheticFineGrainedDataset.Generate(Small(1));
        var c = SyntheticFineGrainedDataset.Generate(Small(2));
        Assert.True(a.Pixels.Span.SequenceEqual(b.Pixels.Span));
        Assert.Equal(a.Classes, b.Classes);
        Assert.False(a.Pixels.Span.SequenceEqual(c.Pixels.Span));
        using var scope = NewDisposeScope();
        Assert.True(a.LoadImages([0, 5, 23], true, 9).equal(b.LoadImages([0, 5, 23], true, 9)).all().item<bool>());
    }

    [Fact]
    public void LargerSetsExtendSmallerOnesWithoutChangingThem()
    {
        var small = SyntheticFineGrainedDataset.Generate(Small(3));
        var large = SyntheticFineGrainedDataset.Generate(new SyntheticDatasetOptions { ClassCount = 9, ImagesPerClass = 7, Seed = 3 });
        Assert.Equal(small.Classes, large.Classes.Take(6));
        var plane = 3 * 32 * 32;
        for (var c = 0; c < 6; c++)
            for (var j = 0; j < 4; j++)
                Assert.True(small.Pixels.Span.Slice((c * 4 + j) * plane, plane).SequenceEqual(large.Pixels.Span.Slice((c * 7 + j) * plane, plane)));
    }

    [Fact]
    public void ImagesOfAClassDifferAndAllSizesWork()
    {
        foreach (var size in new[] { 32, 48, 64 })
        {
            var sized = SyntheticFineGrainedDataset.Generate(new SyntheticDatasetOptions { ClassCount = 4, ImagesPerClass = 2, ImageSize = size });
            Assert.Equal(size, sized.Height);
            using var scope = NewDisposeScope();
            var x = sized.LoadImages([0, 1], false, 0);
            Assert.Equal(new long[] { 2, 3, size, size }, x.shape);
            Assert.False(x[0].equal(x[1]).all().item<bool>());
        }
    }

    [Fact]
    public void WithoutNuisancesTheObjectShowsItsClassColours()
    {
        // Every combination once, object centred and upright, no clutter/occlusion/jitter/noise: the centre pixel is
        // the fill colour for filled shapes; just below the centre is the secondary colour for two-tone classes.
        var options = new SyntheticDatasetOptions
        {
            ClassCount = 384, ImagesPerClass = 1, MaxRotationDegrees = 0, MaxOffset = 0, MinScale = 0.3, MaxScale = 0.3,
            MaxClutter = 0, ColourJitter = 0, MaxHueShiftDegrees = 0, NoiseStd = 0, OcclusionProbability = 0,
        };
        var ds = SyntheticFineGrainedDataset.Generate(options);
        var px = ds.Pixels.Span;
        const int s = 32;
        foreach (var cls in ds.Classes)
        {
            if (cls.Shape is SyntheticShape.Ring or SyntheticShape.Crescent) continue; // the centre is outside them
            float[]? expected = cls.Pattern switch
            {
                SyntheticPattern.Plain => cls.Colours.Primary,
                SyntheticPattern.TwoTone => cls.Colours.Secondary,
                _ => null,
            };
            if (expected is null) continue;
            var y = cls.Pattern == SyntheticPattern.TwoTone ? 18 : 16;
            for (var c = 0; c < 3; c++)
            {
                var actual = px[(cls.Label * 3 + c) * s * s + y * s + 16];
                Assert.True(Math.Abs(actual - expected[c] * 255) <= 1.5, $"{cls}: channel {c} is {actual}, expected {expected[c] * 255:F0}");
            }
        }
    }

    [Fact]
    public void ContactSheetIsAValidPpm()
    {
        var ds = SyntheticFineGrainedDataset.Generate(Small());
        var ppm = ContactSheet.ToPpm(ds, [0, 1, 2, 3, 4], columns: 3, scale: 2, gap: 1);
        var width = 3 * (64 + 1) + 1;
        var height = 2 * (64 + 1) + 1;
        var header = $"P6\n{width} {height}\n255\n";
        Assert.Equal(header, System.Text.Encoding.ASCII.GetString(ppm, 0, header.Length));
        Assert.Equal(header.Length + width * height * 3, ppm.Length);
        // Pixel (0, 0) of image 0 lands at (1, 1) and (2, 2) of the sheet (2x replication).
        var at = (int x, int y) => header.Length + (y * width + x) * 3;
        Assert.Equal(ds.Pixels.Span[0], ppm[at(1, 1)]);
        Assert.Equal(ds.Pixels.Span[0], ppm[at(2, 2)]);
        Assert.Equal(ds.Pixels.Span[32 * 32], ppm[at(1, 1) + 1]);
    }

    [Fact]
    public void InvalidOptionsAreNamed()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => SyntheticFineGrainedDataset.Generate(new SyntheticDatasetOptions { ClassCount = 400 }));
        Assert.Contains("384", ex.Message);
        Assert.Throws<ArgumentException>(() => SyntheticFineGrainedDataset.Generate(new SyntheticDatasetOptions { MinScale = 0.4, MaxScale = 0.3 }));
    }

    private static double RecallAt1(Tensor features, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var d = PairwiseDistances.SquaredEuclidean(features);
        d = d + torch.eye(d.shape[0]) * 1e9; // exclude the self-match
        var nearest = d.argmin(1);
        return labels[nearest].eq(labels).to(ScalarType.Float64).mean().item<double>();
    }
}
