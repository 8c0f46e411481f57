using EmbeddingDistillation.Data;

namespace EmbeddingDistillation.Tests.Data;

public class ClassSplitTests
{
    // Class ids 10, 20, ..., 200 (20 classes) x 3 images, shuffled order, plus unlabelled samples.
    private static int[] Labels()
    {
        var labels = Enumerable.Range(1, 20).SelectMany(c => Enumerable.Repeat(c * 10, 3)).ToList();
        labels.AddRange([DatasetLabels.Unlabelled, DatasetLabels.Unlabelled]);
        var rng = new Random(5);
        return labels.OrderBy(_ => rng.Next()).ToArray();
    }

    [Fact]
    public void PaperProtocolSplitsSortedClassesInHalvesAndCarvesValidationFromTrain()
    {
        var labels = Labels();
        var split = ClassSplit.PaperProtocol(labels);
        Assert.Equal(new[] { 10, 20, 30, 40, 50, 60, 70, 80 }, split.TrainClasses);
        Assert.Equal(new[] { 90, 100 }, split.ValidationClasses);            // round(0.2 * 10) = last 2 of the train half
        Assert.Equal(Enumerable.Range(11, 10).Select(c => c * 10), split.TestClasses);
        Assert.Equal(24, split.TrainIndices.Count);
        Assert.Equal(6, split.ValidationIndices.Count);
        Assert.Equal(30, split.TestIndices.Count);

        var all = split.TrainIndices.Concat(split.ValidationIndices).Concat(split.TestIndices).ToArray();
        Assert.Equal(all.Length, all.Distinct().Count());
        Assert.All(all, i => Assert.NotEqual(DatasetLabels.Unlabelled, labels[i]));
        Assert.All(split.TrainIndices, i => Assert.Contains(labels[i], split.TrainClasses));
        Assert.All(split.ValidationIndices, i => Assert.Contains(labels[i], split.ValidationClasses));
        Assert.All(split.TestIndices, i => Assert.Contains(labels[i], split.TestClasses));
    }

    [Fact]
    public void ValidationByCountAndZeroFraction()
    {
        var labels = Labels();
        var byCount = ClassSplit.PaperProtocol(labels, validationClassCount: 3);
        Assert.Equal(new[] { 80, 90, 100 }, byCount.ValidationClasses);
        Assert.Equal(7, byCount.TrainClasses.Count);
        var none = ClassSplit.PaperProtocol(labels, 0.0);
        Assert.Empty(none.ValidationIndices);
        Assert.Equal(10, none.TrainClasses.Count);
        Assert.Throws<ArgumentOutOfRangeException>(() => ClassSplit.PaperProtocol(labels, validationClassCount: 10));
    }

    [Fact]
    public void OddClassCountGivesTheExtraClassToTest()
    {
        var split = ClassSplit.PaperProtocol(new[] { 0, 1, 2, 3, 4 }, 0.0);
        Assert.Equal(new[] { 0, 1 }, split.TrainClasses);
        Assert.Equal(new[] { 2, 3, 4 }, split.TestClasses);
    }

    [Fact]
    public void ClassIndexMapReindexesToContiguousIds()
    {
        var labels = new[] { 70, 10, DatasetLabels.Unlabelled, 40, 70 };
        var map = ClassIndexMap.FromLabels(labels);
        Assert.Equal(new[] { 10, 40, 70 }, map.ClassIds);
        Assert.Equal(new[] { 2, 0, DatasetLabels.Unlabelled, 1, 2 }, map.Reindex(labels));
        var ex = Assert.Throws<KeyNotFoundException>(() => map.IndexOf(55));
        Assert.Contains("55", ex.Message);
    }
}
