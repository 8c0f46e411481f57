using EmbeddingDistillation.Tests.Support;
using EmbeddingDistillation.Vision;
using Microsoft.Extensions.Logging;
using TorchSharp;

namespace EmbeddingDistillation.Tests.Vision;

public class BadInputTests
{
    [Fact]
    public void MalformedAnnotationLineNamesFileAndLine()
    {
        using var dir = new TempDir();
        DatasetFixtures.WriteCub(dir.Path);
        string labels = Path.Combine(dir.Path, "image_class_labels.txt");
        var lines = File.ReadAllLines(labels);
        lines[2] = "3 three";
        File.WriteAllLines(labels, lines);
        var e = Assert.Throws<ImageDataException>(() => Cub200.Read(dir.Path));
        Assert.Equal(labels, e.FilePath);
        Assert.Equal(3, e.Line);
        Assert.Contains("line 3", e.Message);
        Assert.Contains("three", e.Message);
    }

    [Fact]
    public void MissingAnnotationFileIsNamed()
    {
        using var dir = new TempDir();
        DatasetFixtures.WriteCub(dir.Path);
        File.Delete(Path.Combine(dir.Path, "images.txt"));
        Assert.EndsWith("images.txt", Assert.Throws<ImageDataException>(() => Cub200.Read(dir.Path)).FilePath);
        Assert.Contains("Ebay_train.txt", Assert.Throws<ImageDataException>(() => StanfordOnlineProducts.Read(dir.Path)).Message);
    }

    [Fact]
    public void SopLineWithTooFewFieldsIsReported()
    {
        using var dir = new TempDir();
        DatasetFixtures.WriteSop(dir.Path);
        File.AppendAllText(Path.Combine(dir.Path, "Ebay_test.txt"), "99 5\n");
        var e = Assert.Throws<ImageDataException>(() => StanfordOnlineProducts.Read(dir.Path));
        Assert.Contains("Ebay_test.txt, line 6", e.Message);
    }

    private static (TempDir Dir, DatasetLayout Layout) TwoImages(byte[] secondImage)
    {
        var dir = new TempDir();
        TestImages.WriteJpeg(dir.File("a/good.jpg"), 30, 30, 1);
        File.WriteAllBytes(dir.File("a/bad.jpg"), secondImage);
        var layout = new DatasetLayout("bad", dir.Path, [new ImageRecord("a/good.jpg", 0), new ImageRecord("a/bad.jpg", 0), new ImageRecord("a/missing.jpg", 0)], new Dictionary<int, string>());
        return (dir, layout);
    }

    public static TheoryData<string> CorruptKinds => new() { "garbage", "truncated", "empty" };

    private static byte[] Corrupt(string kind)
    {
        var jpeg = TestImages.Encode(TestImages.Pattern(64, 64, 3), 64, 64, SkiaSharp.SKEncodedImageFormat.Jpeg);
        return kind switch
        {
            "garbage" => Enumerable.Range(0, 500).Select(i => (byte)(i * 31)).ToArray(),
            "truncated" => jpeg[..(jpeg.Length / 2)],
            _ => [],
        };
    }

    [Theory]
    [MemberData(nameof(CorruptKinds))]
    public void CorruptImageRaisesNamingTheFile(string kind)
    {
        var (dir, layout) = TwoImages(Corrupt(kind));
        using (dir)
        {
            var dataset = new ImageDataset(layout, options: new ImageDatasetOptions { Transform = new ImageTransformOptions { ImageSize = 16 } });
            using var scope = torch.NewDisposeScope();
            var inner = Assert.Throws<ImageDataException>(() => dataset.LoadImages([0, 1], true, 1));
            Assert.EndsWith(Path.Combine("a", "bad.jpg"), inner.FilePath);
            Assert.Contains("bad.jpg", inner.Message);
        }
    }

    [Fact]
    public void MissingImageRaisesNamingTheFileEvenWhenSkippingCorruptOnes()
    {
        var (dir, layout) = TwoImages(Corrupt("garbage"));
        using (dir)
        {
            var dataset = new ImageDataset(layout, options: new ImageDatasetOptions { SkipCorruptImages = true, Transform = new ImageTransformOptions { ImageSize = 16 } });
            var batch = new PrefetchingBatchLoader(dataset, new BatchLoaderOptions { WorkerCount = 1 });
            var e = Assert.Throws<ImageDataException>(() => batch.Load([new BatchRequest([2], 0)]).ToList());
            Assert.Contains("missing.jpg", e.Message);
            Assert.Contains("not found", e.Message);
        }
    }

    [Fact]
    public void SkippingCorruptImagesFillsZerosCountsAndLogs()
    {
        var (dir, layout) = TwoImages(Corrupt("truncated"));
        using (dir)
        {
            var logger = new ListLogger();
            var dataset = new ImageDataset(layout, options: new ImageDatasetOptions { SkipCorruptImages = true, Logger = logger, Transform = new ImageTransformOptions { ImageSize = 16 } });
            using var scope = torch.NewDisposeScope();
            var images = dataset.LoadImages([0, 1, 1], true, 1);
            Assert.Equal(2, dataset.CorruptImageCount);
            Assert.Equal(0f, images[1].abs().max().item<float>());
            Assert.True(images[0].abs().max().item<float>() > 0);
            Assert.Equal(2, logger.Messages.Count);
            Assert.All(logger.Messages, m => Assert.Contains("bad.jpg", m));
            Assert.Contains(logger.Messages, m => m.Contains("2 corrupt image(s)"));
        }
    }

    [Fact]
    public void InvalidOptionsAreNamed()
    {
        var layout = new DatasetLayout("x", "/", [new ImageRecord("a.jpg", 0)], new Dictionary<int, string>());
        Assert.Contains("ImageSize", Assert.Throws<ArgumentException>(() => new ImageDataset(layout, options: new ImageDatasetOptions { Transform = new ImageTransformOptions { ImageSize = 0 } })).Message);
        Assert.Contains("Scale", Assert.Throws<ArgumentException>(() => new ImageTransform(new ImageTransformOptions { Scale = (0.5, 0.1) })).Message);
        Assert.Contains("JpegQuality", Assert.Throws<ArgumentException>(() => new CrossQualityDataset(layout, lowQuality: new LowQualityOptions { JpegQuality = 0 })).Message);
        var dataset = new ImageDataset(layout);
        Assert.Throws<ArgumentOutOfRangeException>(() => new PrefetchingBatchLoader(dataset, new BatchLoaderOptions { MaxReadyBatches = 0 }));
    }
}
