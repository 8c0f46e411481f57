using EmbeddingDistillation.Vision;

namespace EmbeddingDistillation.Tests.Vision;

public class LayoutTests
{
    [Fact]
    public void CubReadsLabelsBoxesAndOfficialFlags()
    {
        using var dir = new TempDir();
        DatasetFixtures.WriteCub(dir.Path);
        var layout = Cub200.Read(dir.Path);

        Assert.Equal(12, layout.Records.Count);
        Assert.Equal(DatasetFixtures.CubClasses, layout.ClassIds);
        Assert.Equal("002.Bird_2", layout.ClassNames[2]);
        var fourth = layout.Records[3]; // image id 4: first image of class 2
        Assert.Equal("images/002.Bird_2/Bird_2_0.jpg", fourth.RelativePath);
        Assert.Equal(2, fourth.ClassId);
        Assert.False(fourth.OfficialTrain);
        Assert.True(layout.Records[4].OfficialTrain);
        var (x, y, w, h) = DatasetFixtures.CubBox(4);
        Assert.Equal(new BoundingBox(x, y, w, h), fourth.Box);
        Assert.True(File.Exists(layout.FullPath(fourth)));
    }

    [Fact]
    public void CubPaperSplitUsesClassIdsAndCarvesValidation()
    {
        using var dir = new TempDir();
        DatasetFixtures.WriteCub(dir.Path);
        var split = PaperSplits.Cub(Cub200.Read(dir.Path), validationFraction: 0.5);

        Assert.Equal([1], split.Train.Records.Select(r => r.ClassId).Distinct());
        Assert.Equal([2], split.Validation.Records.Select(r => r.ClassId).Distinct());
        Assert.Equal([101, 102], split.Test.Records.Select(r => r.ClassId).Distinct().Order());
        Assert.Equal(3, split.Train.Records.Count);
        Assert.Equal(6, split.Test.Records.Count);

        string summary = split.Summary();
        Assert.Contains("5,864", summary);
        Assert.Contains("5,924", summary);
        var testLine = summary.Split('\n').Single(l => l.StartsWith("test", StringComparison.Ordinal));
        Assert.Equal(["test", "2", "6", "100", "5,924"], testLine.Split(' ', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void DefaultValidationFractionTakesTheLastFifthOfTrainingClasses()
    {
        var records = Enumerable.Range(0, 10).Select(c => new ImageRecord($"{c}/a.jpg", c)).ToArray();
        var layout = new DatasetLayout("toy", "/nowhere", records, new Dictionary<int, string>());
        var split = PaperSplits.ByClasses(layout);
        Assert.Equal([0, 1, 2, 3], split.Train.Records.Select(r => r.ClassId));
        Assert.Equal([4], split.Validation.Records.Select(r => r.ClassId));
        Assert.Equal([5, 6, 7, 8, 9], split.Test.Records.Select(r => r.ClassId));
        Assert.Throws<ArgumentOutOfRangeException>(() => PaperSplits.ByClasses(layout, validationFraction: 1.0));
    }

    [Fact]
    public void SopKeepsSuperClassesAndOfficialSplit()
    {
        using var dir = new TempDir();
        DatasetFixtures.WriteSop(dir.Path);
        var layout = StanfordOnlineProducts.Read(dir.Path);
        Assert.Equal(10, layout.Records.Count);
        var r = layout.Records[4];
        Assert.Equal("super2_final/3_0.JPG", r.RelativePath);
        Assert.Equal(3, r.ClassId);
        Assert.Equal(2, r.SuperClassId);

        var split = PaperSplits.Sop(layout, validationFraction: 0);
        Assert.Equal([1, 2, 3], split.Train.Records.Select(x => x.ClassId).Distinct());
        Assert.Equal([4, 5], split.Test.Records.Select(x => x.ClassId).Distinct());
        Assert.Empty(split.Validation.Records);
        Assert.Contains("11,318", split.Summary());
        Assert.Contains("60,502", split.Summary());
    }

    [Fact]
    public void ImageFolderSortsClassesOrdinally()
    {
        using var dir = new TempDir();
        TestImages.WriteJpeg(dir.File("zebra/1.jpg"), 20, 20, 1);
        TestImages.WritePng(dir.File("apple/b.PNG"), 20, 20, 2);
        TestImages.WriteJpeg(dir.File("apple/a.jpeg"), 20, 20, 3);
        File.WriteAllText(dir.File("apple/notes.txt"), "not an image");
        var layout = ImageFolder.Read(dir.Path);
        Assert.Equal(["apple/a.jpeg", "apple/b.PNG", "zebra/1.jpg"], layout.Records.Select(r => r.RelativePath));
        Assert.Equal([0, 0, 1], layout.Records.Select(r => r.ClassId));
        Assert.Equal("zebra", layout.ClassNames[1]);
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void CarsMatReadsAnnotationsFromCompressedAndPlainElements(bool compressAnnotations, bool compressNames)
    {
        using var dir = new TempDir();
        DatasetFixtures.WriteCars(dir.Path, compressAnnotations, compressNames);
        var layout = Cars196.Read(dir.Path);

        Assert.Equal(DatasetFixtures.CarsAnnotations.Length, layout.Records.Count);
        for (int i = 0; i < layout.Records.Count; i++)
        {
            var a = DatasetFixtures.CarsAnnotations[i];
            var r = layout.Records[i];
            Assert.Equal(a.File, r.RelativePath);
            Assert.Equal(a.Class, r.ClassId);
            Assert.Equal(a.Test == 0, r.OfficialTrain);
            Assert.Equal(new BoundingBox(a.X1 - 1, a.Y1 - 1, a.X2 - a.X1 + 1, a.Y2 - a.Y1 + 1), r.Box);
        }
        Assert.Equal(196, layout.ClassNames.Count);
        Assert.Equal("Car Model 99 2012", layout.ClassNames[99]);

        var split = PaperSplits.Cars(layout, validationFraction: 0.5);
        Assert.Equal([1], split.Train.Records.Select(r => r.ClassId).Distinct());
        Assert.Equal([98], split.Validation.Records.Select(r => r.ClassId).Distinct());
        Assert.Equal([99, 196], split.Test.Records.Select(r => r.ClassId).Distinct());
        Assert.Contains("8,131", split.Summary());
    }

    [Fact]
    public void CarsClassFoldersFollowTheGivenClassOrder()
    {
        using var dir = new TempDir();
        TestImages.WriteJpeg(dir.File("train/Zeta Coupe 2010/a.jpg"), 20, 20, 1);
        TestImages.WriteJpeg(dir.File("train/Alpha Van 2012/b.jpg"), 20, 20, 2);
        TestImages.WriteJpeg(dir.File("test/Zeta Coupe 2010/c.jpg"), 20, 20, 3);

        var ordinal = Cars196.ReadClassFolders(dir.Path);
        Assert.Equal(1, ordinal.Records.Single(r => r.RelativePath == "train/Alpha Van 2012/b.jpg").ClassId);

        var official = Cars196.ReadClassFolders(dir.Path, ["Zeta Coupe 2010", "Alpha Van 2012"]);
        // Records follow the folders' ordinal order; ids follow the given class order.
        Assert.Equal([2, 1, 1], official.Records.Select(r => r.ClassId));
        Assert.Equal([true, true, false], official.Records.Select(r => r.OfficialTrain == true));
        Assert.Equal("train/Zeta Coupe 2010/a.jpg", official.Records.First(r => r.ClassId == 1).RelativePath);
        Assert.Throws<ImageDataException>(() => Cars196.ReadClassFolders(dir.Path, ["Zeta Coupe 2010"]));
    }

    [Fact]
    public void UnlabelledDatasetsReportMinusOne()
    {
        using var dir = new TempDir();
        DatasetFixtures.WriteSop(dir.Path);
        var split = PaperSplits.Sop(StanfordOnlineProducts.Read(dir.Path), validationFraction: 0);
        var unlabelled = ImageDataset.FromSplit(split, split.Train, new ImageDatasetOptions { Unlabelled = true });
        Assert.Equal("Stanford Online Products train", unlabelled.Name);
        Assert.Equal(6, unlabelled.Count);
        Assert.All(unlabelled.Labels, l => Assert.Equal(EmbeddingDistillation.Data.DatasetLabels.Unlabelled, l));
        Assert.Equal([1, 1, 2, 2, 3, 3], ImageDataset.FromSplit(split, split.Train).Labels);
    }
}
