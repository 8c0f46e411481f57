using EmbeddingDistillation.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Tests.Data;

public class InMemoryImageDatasetTests
{
    private static InMemoryImageDataset Make(InMemoryDatasetOptions? options = null, int n = 12, int size = 16)
    {
        var rng = new Random(1);
        var pixels = new byte[n * 3 * size * size];
        rng.NextBytes(pixels);
        return new InMemoryImageDataset(pixels, n, size, size, Enumerable.Range(0, n).Select(i => i % 4).ToArray(), options);
    }

    [Fact]
    public void LoadsNormalisedContiguousFloatBatchInIndexOrder()
    {
        var ds = Make();
        using var scope = NewDisposeScope();
        var x = ds.LoadImages([3, 0, 3], augment: false, seed: 0);
        Assert.Equal(new long[] { 3, 3, 16, 16 }, x.shape);
        Assert.Equal(ScalarType.Float32, x.dtype);
        Assert.True(x.is_contiguous());
        Assert.True(x[0].equal(x[2]).all().item<bool>());
        // Undo the normalisation and compare with the raw bytes of image 0.
        var raw = x[1] * torch.tensor(ds.Std.ToArray(), [3, 1, 1]) + torch.tensor(ds.Mean.ToArray(), [3, 1, 1]);
        var expected = torch.tensor(ds.Pixels.Slice(0, 3 * 16 * 16).ToArray(), [3, 16, 16]).to(ScalarType.Float32) / 255f;
        Assert.True(raw.allclose(expected, rtol: 0, atol: 1e-5));
    }

    [Fact]
    public void DefaultNormalisationUsesDataStatistics()
    {
        var ds = Make(n: 40);
        using var scope = NewDisposeScope();
        var x = ds.LoadImages(Enumerable.Range(0, 40).ToArray(), augment: false, seed: 0);
        var mean = x.mean([0, 2, 3]);
        var std = x.permute(1, 0, 2, 3).reshape(3, -1).std(1, unbiased: false);
        Assert.True(mean.abs().max().item<float>() < 1e-4);
        Assert.True((std - 1).abs().max().item<float>() < 1e-4);
    }

    [Fact]
    public void ExplicitImageNetNormalisation()
    {
        var ds = Make(new InMemoryDatasetOptions { Mean = ImageNormalization.ImageNetMean, Std = ImageNormalization.ImageNetStd });
        Assert.Equal(0.485f, ds.Mean[0]);
        using var scope = NewDisposeScope();
        var x = ds.LoadImages([0], false, 0);
        var raw = ds.LoadRawImages([0]);
        Assert.True(x[0, 2].allclose((raw[0, 2] - 0.406f) / 0.225f, atol: 1e-5));
    }

    [Theory]
    [InlineData(AugmentationCrop.PadAndCrop)]
    [InlineData(AugmentationCrop.RandomResizedCrop)]
    [InlineData(AugmentationCrop.None)]
    public void AugmentationIsDeterministicPerSeedAndChangesImages(AugmentationCrop crop)
    {
        var ds = Make(new InMemoryDatasetOptions { Augmentation = new ImageAugmentationOptions { Crop = crop } });
        using var scope = NewDisposeScope();
        int[] idx = [0, 1, 2, 3, 1];
        var a = ds.LoadImages(idx, true, 42);
        var b = ds.LoadImages(idx, true, 42);
        var c = ds.LoadImages(idx, true, 43);
        var plain = ds.LoadImages(idx, false, 42);
        Assert.Equal(plain.shape, a.shape);
        Assert.True(a.equal(b).all().item<bool>());
        Assert.False(a.equal(c).all().item<bool>());
        Assert.False(a.equal(plain).all().item<bool>());
        Assert.False(a[1].equal(a[4]).all().item<bool>()); // a duplicated index gets its own view
        Assert.True(plain.equal(ds.LoadImages(idx, false, 7)).all().item<bool>()); // seed ignored without augmentation
    }

    [Fact]
    public void PadAndCropWithoutJitterOnlyMovesPixels()
    {
        var aug = new ImageAugmentationOptions { Brightness = 0, Contrast = 0, Saturation = 0, HorizontalFlip = false, Padding = 2 };
        var ds = Make(new InMemoryDatasetOptions { Augmentation = aug, Mean = [0f, 0f, 0f], Std = [1f, 1f, 1f] });
        using var scope = NewDisposeScope();
        var raw = ds.LoadRawImages([5]);
        var a = ds.LoadImages([5], true, 9);
        // The crop is a window of the reflect-padded image: some shift in [-2, 2]^2 reproduces it exactly.
        var padded = nn.functional.pad(raw, [2, 2, 2, 2], PaddingModes.Reflect);
        var found = false;
        for (var dy = 0; dy <= 4 && !found; dy++)
            for (var dx = 0; dx <= 4 && !found; dx++)
                found = padded[.., .., dy..(dy + 16), dx..(dx + 16)].equal(a).all().item<bool>();
        Assert.True(found);
    }

    [Fact]
    public void BadIndicesAndInputsGiveClearErrors()
    {
        var ds = Make();
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => ds.LoadImages([0, 12], false, 0));
        Assert.Contains("Index 12", ex.Message);
        Assert.Contains("Count 12", ex.Message);
        Assert.Throws<ArgumentException>(() => ds.LoadImages([], false, 0));
        var bad = Assert.Throws<ArgumentException>(() => new InMemoryImageDataset(new byte[10], 1, 2, 2, [0]));
        Assert.Contains("needs 12", bad.Message);
        Assert.Throws<ArgumentException>(() => new InMemoryImageDataset(new byte[12], 1, 2, 2, [0, 1]));
    }

    [Fact]
    public void SubsetKeepsLabelsAndMapsIndices()
    {
        var ds = Make();
        var view = ds.Subset([5, 6, 7]);
        Assert.Equal(3, view.Count);
        Assert.Equal(new[] { 1, 2, 3 }, view.Labels);
        using var scope = NewDisposeScope();
        Assert.True(view.LoadImages([1], false, 0).equal(ds.LoadImages([6], false, 0)).all().item<bool>());
        // Views pass parent indices through, so the augmented view equals the parent's augmented sample.
        Assert.True(view.LoadImages([1], true, 3).equal(ds.LoadImages([6], true, 3)).all().item<bool>());
        var nested = view.Subset([2]);
        Assert.Equal(new[] { 3 }, nested.Labels);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => view.LoadImages([3], false, 0));
        Assert.Contains("Count 3", ex.Message);
        Assert.All(ds.SubsetUnlabelled([0, 1]).Labels, l => Assert.Equal(DatasetLabels.Unlabelled, l));
    }

    [Fact]
    public void FromTensorAcceptsUint8AndFloat()
    {
        using var scope = NewDisposeScope();
        var img = torch.rand(4, 3, 8, 8);
        var ds = InMemoryImageDataset.FromTensor(img, [0, 1, 0, 1]);
        Assert.True(ds.LoadRawImages([0, 1, 2, 3]).allclose(img, atol: 0.5 / 255 + 1e-6));
        var ds8 = InMemoryImageDataset.FromTensor(img.mul(255).to(ScalarType.Byte), [0, 1, 0, 1]);
        Assert.Equal(4, ds8.Count);
        Assert.Throws<ArgumentException>(() => InMemoryImageDataset.FromTensor(torch.rand(4, 1, 8, 8), [0, 1, 0, 1]));
    }
}

public class InMemoryImageDatasetLeakTests
{
    [Theory]
    [InlineData(AugmentationCrop.PadAndCrop)]
    [InlineData(AugmentationCrop.RandomResizedCrop)]
    public void LoadImagesLeavesOnlyTheResultAlive(AugmentationCrop crop)
    {
        var pixels = new byte[6 * 3 * 8 * 8];
        new Random(2).NextBytes(pixels);
        var ds = new InMemoryImageDataset(pixels, 6, 8, 8, [0, 0, 1, 1, 2, 2],
            new InMemoryDatasetOptions { Augmentation = new ImageAugmentationOptions { Crop = crop } });
        using var outer = torch.NewDisposeScope();
        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        var x = ds.LoadImages([0, 3, 5], augment: true, seed: 1);
        Assert.Equal(before + 1, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        x.Dispose();
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}
