using EmbeddingDistillation.Data;
using EmbeddingDistillation.Vision;

namespace EmbeddingDistillation.Tests.Vision;

/// <summary>The synthetic dataset written as a CUB-200-2011 folder, read back by <see cref="Cub200.Read"/>.</summary>
public class SyntheticCubTests
{
    private static readonly SyntheticDatasetOptions Small = new() { ClassCount = 7, ImagesPerClass = 4, ImageSize = 24, Seed = 3 };

    [Fact]
    public void WrittenFolderReadsBackWithEveryImageUnderItsClass()
    {
        using var dir = new TempDir();
        var layout = SyntheticCub.Write(dir.Path, Small);
        var generated = SyntheticFineGrainedDataset.Generate(Small);

        // 7 classes: the first 4 get ids 1-4 (the paper's training half), the other 3 ids 101-103 (its test half).
        Assert.Equal([1, 2, 3, 4, 101, 102, 103], layout.ClassIds);
        Assert.Equal(28, layout.Records.Count);
        Assert.Equal(Cub200.Name, layout.Name);
        var split = PaperSplits.Cub(layout, validationFraction: 0);
        Assert.Equal((4, 3), (split.Train.ClassCount, split.Test.ClassCount));
        Assert.Equal((16, 12), (split.Train.Records.Count, split.Test.Records.Count));

        for (int i = 0; i < layout.Records.Count; i++)
        {
            var record = layout.Records[i];
            int label = i / Small.ImagesPerClass;
            Assert.Equal(SyntheticCub.ClassId(label, 7), record.ClassId);
            Assert.Equal(generated.Labels[i], label);
            string folder = $"{record.ClassId:D3}.{generated.DescribeClass(label).Replace(' ', '_').Replace('/', '_')}";
            Assert.Equal(folder, layout.ClassNames[record.ClassId]);
            Assert.StartsWith($"images/{folder}/", record.RelativePath, StringComparison.Ordinal);
            Assert.Equal(i % Small.ImagesPerClass % 2 == 0, record.OfficialTrain);

            // The file holds this image: JPEG-close to it (4:2:0 chroma subsampling costs ~10 grey levels on 24 px noisy
            // images) and closer to it than to any other generated image.
            var image = ImageDecoder.Decode(layout.FullPath(record));
            Assert.Equal((24, 24), (image.Width, image.Height));
            var distances = Enumerable.Range(0, generated.Count).Select(j => MeanAbsoluteDifference(image, generated, j)).ToArray();
            Assert.True(distances[i] < 20, $"{record.RelativePath}: mean |difference| {distances[i]:F1} grey levels from its generated image");
            Assert.Equal(i, Array.IndexOf(distances, distances.Min()));
        }
    }

    [Fact]
    public void SameOptionsWriteTheSameBytes()
    {
        using var a = new TempDir();
        using var b = new TempDir();
        SyntheticCub.Write(a.Path, Small);
        SyntheticCub.Write(b.Path, Small);
        var files = Directory.EnumerateFiles(a.Path, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(a.Path, f)).Order().ToArray();
        Assert.Equal(4 + 28, files.Length);
        Assert.Equal(files, Directory.EnumerateFiles(b.Path, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(b.Path, f)).Order());
        Assert.All(files, f => Assert.Equal(File.ReadAllBytes(Path.Combine(a.Path, f)), File.ReadAllBytes(Path.Combine(b.Path, f))));
    }

    [Fact]
    public void TwoHundredClassesGetTheRealCubIds()
    {
        Assert.Equal(1, SyntheticCub.ClassId(0, 200));
        Assert.Equal(100, SyntheticCub.ClassId(99, 200));
        Assert.Equal(101, SyntheticCub.ClassId(100, 200));
        Assert.Equal(200, SyntheticCub.ClassId(199, 200));
        Assert.Throws<ArgumentOutOfRangeException>(() => SyntheticCub.ClassId(200, 200));
    }

    [Fact]
    public void RefusesAFolderWithFilesAndImpossibleOptionsWithoutWritingAnything()
    {
        using var dir = new TempDir();
        File.WriteAllText(Path.Combine(dir.Path, "keep.txt"), "mine");
        var e = Assert.Throws<IOException>(() => SyntheticCub.Write(dir.Path, Small));
        Assert.Contains(dir.Path, e.Message);
        Assert.Equal(["keep.txt"], Directory.EnumerateFileSystemEntries(dir.Path).Select(Path.GetFileName));

        string fresh = Path.Combine(dir.Path, "new");
        Assert.Throws<ArgumentOutOfRangeException>(() => SyntheticCub.Write(fresh, new SyntheticDatasetOptions { ClassCount = 201 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => SyntheticCub.Write(fresh, new SyntheticDatasetOptions { ClassCount = 1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => SyntheticCub.Write(fresh, Small, jpegQuality: 0));
        Assert.Equal(["keep.txt"], Directory.EnumerateFileSystemEntries(dir.Path).Select(Path.GetFileName));
    }

    private static double MeanAbsoluteDifference(RgbImage image, SyntheticFineGrainedDataset dataset, int index)
    {
        int plane = dataset.Height * dataset.Width;
        var planes = dataset.Pixels.Span.Slice(index * 3 * plane, 3 * plane);
        double sum = 0;
        for (int p = 0; p < plane; p++)
            for (int c = 0; c < 3; c++)
                sum += Math.Abs(image.Pixels[3 * p + c] - planes[c * plane + p]);
        return sum / (3.0 * plane);
    }
}
