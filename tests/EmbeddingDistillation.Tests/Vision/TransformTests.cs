using System.Text.Json;
using EmbeddingDistillation.Vision;
using SkiaSharp;
using TorchSharp;

namespace EmbeddingDistillation.Tests.Vision;

public class TransformTests
{
    private static byte[] SourcePixels(int width, int height)
    {
        // Same LCG as Fixtures/Vision/make_resize_reference.py.
        long state = 12345;
        var result = new byte[width * height * 3];
        for (int i = 0; i < result.Length; i++)
        {
            state = (state * 1103515245 + 12345) % (1L << 31);
            result[i] = (byte)((state >> 16) & 255);
        }
        return result;
    }

    [Fact]
    public void ResamplerMatchesPilBilinearWithinOneLevel()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "Fixtures", "Vision", "resize_reference.json");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        int w = doc.RootElement.GetProperty("width").GetInt32(), h = doc.RootElement.GetProperty("height").GetInt32();
        var source = new RgbImage(w, h, SourcePixels(w, h));
        foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray())
        {
            int ow = c.GetProperty("outWidth").GetInt32(), oh = c.GetProperty("outHeight").GetInt32();
            var expected = c.GetProperty("pixels").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            var actual = Resampler.ResizeRegion(source, c.GetProperty("left").GetInt32(), c.GetProperty("top").GetInt32(),
                c.GetProperty("width").GetInt32(), c.GetProperty("height").GetInt32(), ow, oh);
            Assert.Equal(expected.Length, actual.Pixels.Length);
            var diffs = expected.Zip(actual.Pixels, (e, a) => Math.Abs(e - a)).ToArray();
            Assert.True(diffs.Max() <= 1, $"case {ow}x{oh}: max difference {diffs.Max()} from PIL");
            Assert.True(diffs.Average() < 0.1, $"case {ow}x{oh}: mean difference {diffs.Average()} from PIL");
        }
    }

    [Theory]
    [InlineData(500, 375, 256, 341, 256)]
    [InlineData(375, 500, 256, 256, 341)]
    [InlineData(300, 300, 256, 256, 256)]
    public void ShorterSideResizeTruncatesTheLongerSide(int w, int h, int size, int ew, int eh) =>
        Assert.Equal((ew, eh), ImageTransform.ShorterSideSize(w, h, size));

    [Theory]
    [InlineData(224, 256)]
    [InlineData(64, 73)]
    [InlineData(320, 366)]
    public void ResizeFollowsImageSize(int imageSize, int resize) =>
        Assert.Equal(resize, new ImageTransformOptions { ImageSize = imageSize }.EffectiveResizeSize);

    [Fact]
    public void RandomResizedCropStatisticsFollowTorchvisionSampling()
    {
        var random = new Random(7);
        const int W = 256, H = 256, N = 20000;
        double scaleSum = 0, logRatioSum = 0;
        for (int n = 0; n < N; n++)
        {
            var (left, top, w, h) = ImageTransform.RandomResizedCropParams(W, H, (0.08, 1.0), (3.0 / 4, 4.0 / 3), random);
            Assert.InRange(left, 0, W - w);
            Assert.InRange(top, 0, H - h);
            double scale = (double)w * h / (W * H);
            double ratio = (double)w / h;
            // Rounding w and h to integers moves the bounds by at most about one pixel.
            Assert.InRange(scale, 0.08 - 2.0 / W, 1.0);
            Assert.InRange(ratio, 0.75 * (1 - 2.0 / 20), 4.0 / 3 * (1 + 2.0 / 20));
            scaleSum += scale;
            logRatioSum += Math.Log(ratio);
        }

        // Independent expectation for a square image: area fraction s ~ U(0.08, 1), t = log ratio ~ U(-a, a),
        // accepted when s <= exp(-|t|); the first accepted draw follows the conditional law (fallback ~1e-6).
        double a = Math.Log(4.0 / 3), acceptMass = 0, scaleMass = 0;
        const int Steps = 20000;
        for (int i = 0; i < Steps; i++)
        {
            double t = -a + 2 * a * (i + 0.5) / Steps;
            double top = Math.Min(1, Math.Exp(-Math.Abs(t)));
            acceptMass += top - 0.08;
            scaleMass += (top * top - 0.08 * 0.08) / 2;
        }
        double expectedScale = scaleMass / acceptMass;
        Assert.InRange(scaleSum / N, expectedScale - 0.01, expectedScale + 0.01);
        Assert.InRange(logRatioSum / N, -0.01, 0.01);
    }

    [Fact]
    public void RandomResizedCropFallsBackToCentreCropForExtremeImages()
    {
        // A 1000x10 strip: no 3/4-4/3 crop with >= 8% of the area fits, so the fallback crops 13x10 centred.
        var (left, top, w, h) = ImageTransform.RandomResizedCropParams(1000, 10, (0.08, 1.0), (3.0 / 4, 4.0 / 3), new Random(1));
        Assert.Equal((493, 0, 13, 10), (left, top, w, h));
    }

    [Fact]
    public void FlipHappensAboutHalfTheTime()
    {
        var transform = new ImageTransform();
        var random = new Random(3);
        int flips = Enumerable.Range(0, 4000).Count(_ => transform.Draw(300, 400, true, random).Flip);
        Assert.InRange(flips, 1800, 2200);
        Assert.False(transform.Draw(300, 400, false, random).Flip);
    }

    [Fact]
    public void CentreCropUsesTorchvisionOffsets()
    {
        var g = new ImageTransform().Draw(48, 36, augment: false, new Random(0));
        Assert.Equal(new GeometricParams(341, 256, 58, 16, 224, 224, false), g);
    }

    [Fact]
    public void NormalisationUsesImageNetStatistics()
    {
        var pixels = Enumerable.Repeat(new byte[] { 255, 0, 128 }, 30 * 20).SelectMany(p => p).ToArray();
        var image = new RgbImage(30, 20, pixels);
        var transform = new ImageTransform(new ImageTransformOptions { ImageSize = 8 });
        var output = new float[transform.SampleLength];
        transform.Apply(image, transform.Draw(30, 20, true, new Random(5)), output);
        float[] expected = [(1f - 0.485f) / 0.229f, (0f - 0.456f) / 0.224f, (128f / 255f - 0.406f) / 0.225f];
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < 64; i++)
                Assert.Equal(expected[c], output[c * 64 + i], 4);
    }

    [Fact]
    public void FlipMirrorsTheOutput()
    {
        var image = new RgbImage(40, 30, TestImages.Pattern(40, 30, 1).Where((_, i) => i % 4 != 3).ToArray());
        var transform = new ImageTransform(new ImageTransformOptions { ImageSize = 16 });
        var g = transform.Draw(40, 30, false, new Random(0));
        var plain = new float[transform.SampleLength];
        var flipped = new float[transform.SampleLength];
        transform.Apply(image, g, plain);
        transform.Apply(image, g with { Flip = true }, flipped);
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 16; y++)
                for (int x = 0; x < 16; x++)
                    Assert.Equal(plain[c * 256 + y * 16 + x], flipped[c * 256 + y * 16 + 15 - x]);
        Assert.NotEqual(plain, flipped);
    }

    [Fact]
    public void DatasetBatchesHaveTheRequestedSizeAndAreSeedDeterministic()
    {
        using var dir = new TempDir();
        DatasetFixtures.WriteCub(dir.Path);
        var layout = Cub200.Read(dir.Path);
        var dataset = new ImageDataset(layout, options: new ImageDatasetOptions { Transform = new ImageTransformOptions { ImageSize = 32 } });
        Assert.Equal(37, dataset.Transform.Options.EffectiveResizeSize);
        int[] indices = [0, 5, 7];

        using var scope = torch.NewDisposeScope();
        var a = dataset.LoadImages(indices, augment: true, seed: 11);
        Assert.Equal(new long[] { 3, 3, 32, 32 }, a.shape);
        Assert.Equal(torch.ScalarType.Float32, a.dtype);
        Assert.True(a.equal(dataset.LoadImages(indices, true, 11)).all().item<bool>());
        Assert.False(a.equal(dataset.LoadImages(indices, true, 12)).all().item<bool>());
        var test = dataset.LoadImages(indices, augment: false, seed: 1);
        Assert.True(test.equal(dataset.LoadImages(indices, false, 2)).all().item<bool>());
        Assert.Equal(DatasetFixtures.CubClasses.SelectMany(c => Enumerable.Repeat(c, 3)), dataset.Labels);
    }

    [Fact]
    public void CropToBoundingBoxKeepsOnlyTheBox()
    {
        using var dir = new TempDir();
        // Black PNG with a white 10x8 rectangle at (12, 6); the box selects exactly the rectangle.
        var rgba = new byte[40 * 30 * 4];
        for (int y = 0; y < 30; y++)
            for (int x = 0; x < 40; x++)
            {
                byte v = x >= 12 && x < 22 && y >= 6 && y < 14 ? (byte)255 : (byte)0;
                int o = (y * 40 + x) * 4;
                rgba[o] = rgba[o + 1] = rgba[o + 2] = v;
                rgba[o + 3] = 255;
            }
        File.WriteAllBytes(dir.File("a/box.png"), TestImages.Encode(rgba, 40, 30, SKEncodedImageFormat.Png));
        var layout = new DatasetLayout("box", dir.Path, [new ImageRecord("a/box.png", 0, new BoundingBox(12, 6, 10, 8))], new Dictionary<int, string>());
        var options = new ImageDatasetOptions { CropToBoundingBox = true, Transform = new ImageTransformOptions { ImageSize = 8 } };
        using var scope = torch.NewDisposeScope();
        var images = new ImageDataset(layout, options: options).LoadImages([0], true, 3);
        Assert.Equal((1f - 0.485f) / 0.229f, images[0, 0].min().item<float>(), 4);
        var uncropped = new ImageDataset(layout, options: options with { CropToBoundingBox = false }).LoadImages([0], false, 3);
        Assert.True(uncropped.min().item<float>() < 0);
    }

    [Theory]
    [InlineData(1, 32, 16, 0, 0)]   // stored as is: top-left red
    [InlineData(3, 32, 16, 1, 1)]   // rotated 180: top-left shows the stored bottom-right
    [InlineData(6, 16, 32, 0, 1)]   // rotate 90 clockwise: top-left shows the stored bottom-left
    [InlineData(8, 16, 32, 1, 0)]   // rotate 90 counter-clockwise: top-left shows the stored top-right
    public void ExifOrientationIsApplied(int orientation, int width, int height, int storedQuadrantX, int storedQuadrantY)
    {
        // Stored 32x16 image: quadrants red (top-left), green (top-right), blue (bottom-left), white (bottom-right).
        var colours = new byte[2, 2][] { { [255, 0, 0], [0, 0, 255] }, { [0, 255, 0], [255, 255, 255] } };
        var rgba = new byte[32 * 16 * 4];
        for (int y = 0; y < 16; y++)
            for (int x = 0; x < 32; x++)
            {
                var c = colours[x / 16, y / 8];
                int o = (y * 32 + x) * 4;
                rgba[o] = c[0]; rgba[o + 1] = c[1]; rgba[o + 2] = c[2]; rgba[o + 3] = 255;
            }
        var jpeg = TestImages.WithExifOrientation(TestImages.Encode(rgba, 32, 16, SKEncodedImageFormat.Jpeg, 100), orientation);
        var image = ImageDecoder.Decode(jpeg, "oriented.jpg");
        Assert.Equal((width, height), (image.Width, image.Height));
        var expected = colours[storedQuadrantX, storedQuadrantY];
        int p = (2 * image.Width + 2) * 3; // pixel (2, 2), well inside the top-left quadrant
        for (int c = 0; c < 3; c++)
            Assert.InRange(image.Pixels[p + c], expected[c] - 30, expected[c] + 30);
    }

    [Fact]
    public void DegradationKeepsSizeAndLosesDetail()
    {
        var pixels = TestImages.Pattern(64, 48, 2).Where((_, i) => i % 4 != 3).ToArray();
        for (int i = 0; i < pixels.Length; i += 7) pixels[i] = (byte)(pixels[i] ^ 0x80); // fine detail
        var image = new RgbImage(64, 48, pixels);
        var degraded = ImageTransform.Degrade(image, new LowQualityOptions { DownscaleFactor = 4, JpegQuality = 10 });
        Assert.Equal((64, 48), (degraded.Width, degraded.Height));
        double meanError = image.Pixels.Zip(degraded.Pixels, (a, b) => Math.Abs(a - b)).Average();
        Assert.True(meanError > 5, $"mean error {meanError}");
        Assert.Same(image, ImageTransform.Degrade(image, new LowQualityOptions { DownscaleFactor = 1, JpegQuality = null }));
    }

    [Fact]
    public void CrossQualityDegradesTheNetworkInputWhateverTheSourceSize()
    {
        // A checkerboard of 1-pixel cells at the network's resolution, from sources of 8x and 1x that resolution: the
        // degraded network inputs (downscale x4 after the crop) lose the same detail, because the degradation acts
        // on the 32 px input, not on the file (a 256 px file downscaled x4 would keep a 64 px checkerboard).
        var transform = new ImageTransform(new ImageTransformOptions { ImageSize = 32, ResizeSize = 32 });
        var degrade = new LowQualityOptions { DownscaleFactor = 4 };
        double Detail(int side)
        {
            var pixels = new byte[side * side * 3];
            int cell = side / 32;
            for (int y = 0; y < side; y++)
                for (int x = 0; x < side; x++)
                    pixels.AsSpan((y * side + x) * 3, 3).Fill((byte)((x / cell + y / cell) % 2 == 0 ? 230 : 20));
            var image = new RgbImage(side, side, pixels);
            var clean = new float[transform.SampleLength];
            var degraded = new float[transform.SampleLength];
            var geometry = transform.Draw(side, side, augment: false, new Random(0));
            transform.Apply(image, geometry, clean);
            transform.Apply(image, geometry, degraded, degrade);
            double Gradient(float[] v) => Enumerable.Range(0, 32 * 31).Average(i => Math.Abs(v[i / 31 * 32 + i % 31 + 1] - v[i / 31 * 32 + i % 31]));
            return Gradient(degraded) / Gradient(clean);
        }
        double fromLarge = Detail(256), fromSmall = Detail(32);
        Assert.True(fromLarge < 0.2, $"the 256 px source kept {fromLarge:P0} of its detail");
        Assert.Equal(fromSmall, fromLarge, 2);
    }
}
