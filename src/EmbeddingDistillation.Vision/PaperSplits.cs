using System.Text;

namespace EmbeddingDistillation.Vision;

/// <summary>The images of one split, ready to wrap in an <see cref="ImageDataset"/>.</summary>
/// <param name="Name">"train", "validation" or "test".</param>
/// <param name="Records">The images.</param>
/// <param name="ExpectedClasses">The paper's class count for this split (null when it has none).</param>
/// <param name="ExpectedImages">The paper's image count for this split (null when it has none).</param>
public sealed record SplitPart(string Name, IReadOnlyList<ImageRecord> Records, int? ExpectedClasses = null, int? ExpectedImages = null)
{
    /// <summary>The number of distinct classes.</summary>
    public int ClassCount => Records.Select(r => r.ClassId).Distinct().Count();
}

/// <summary>
/// A dataset split into training, validation (carved from the training classes) and test classes.
/// </summary>
/// <param name="Layout">The dataset the records come from.</param>
/// <param name="Train">Training images (without the validation classes).</param>
/// <param name="Validation">Validation images: the last training classes.</param>
/// <param name="Test">Test images (unseen classes).</param>
public sealed record DatasetSplit(DatasetLayout Layout, SplitPart Train, SplitPart Validation, SplitPart Test)
{
    /// <summary>
    /// A text table of classes and images per split, with the paper's counts beside the real ones. The paper's
    /// train counts refer to all training classes, so a "train+validation" row is shown for comparison.
    /// </summary>
    public string Summary()
    {
        var sb = new StringBuilder();
        sb.AppendLine($"{Layout.Name} ({Layout.Root})");
        sb.AppendLine($"{"split",-18}{"classes",10}{"images",10}{"paper classes",16}{"paper images",14}");
        var full = new SplitPart("train+validation", Train.Records.Concat(Validation.Records).ToArray(), Train.ExpectedClasses, Train.ExpectedImages);
        foreach (var part in new[] { new SplitPart("train", Train.Records), Validation, full, Test })
            sb.AppendLine($"{part.Name,-18}{part.ClassCount,10}{part.Records.Count,10}{Show(part.ExpectedClasses),16}{Show(part.ExpectedImages),14}");
        return sb.ToString();
    }

    /// <inheritdoc/>
    public override string ToString() => Summary();

    private static string Show(int? value) => value?.ToString("N0", System.Globalization.CultureInfo.InvariantCulture) ?? "-";
}

/// <summary>
/// The paper's splits ("Learning Metrics from Teachers", as in the metric-learning literature): first half of
/// the classes for training, second half for testing; SOP by its Ebay_train.txt / Ebay_test.txt files. A
/// validation set is carved from the end of the training classes.
/// </summary>
public static class PaperSplits
{
    /// <summary>The default fraction of training classes moved to validation: 0.2.</summary>
    public const double DefaultValidationFraction = 0.2;

    /// <summary>CUB-200-2011: class ids 1-100 train (5,864 images), 101-200 test (5,924).</summary>
    /// <param name="layout">A layout read by <see cref="Cub200.Read"/>.</param>
    /// <param name="validationFraction">Fraction of the training classes (the last ones) held out for validation; 0 for none.</param>
    public static DatasetSplit Cub(DatasetLayout layout, double validationFraction = DefaultValidationFraction) =>
        ByMaxTrainClassId(layout, 100, validationFraction, (100, 5864), (100, 5924));

    /// <summary>Cars-196: class ids 1-98 train (8,054 images), 99-196 test (8,131).</summary>
    /// <param name="layout">A layout read by <see cref="Cars196.Read"/> or <see cref="Cars196.ReadClassFolders"/>.</param>
    /// <param name="validationFraction">Fraction of the training classes (the last ones) held out for validation; 0 for none.</param>
    public static DatasetSplit Cars(DatasetLayout layout, double validationFraction = DefaultValidationFraction) =>
        ByMaxTrainClassId(layout, 98, validationFraction, (98, 8054), (98, 8131));

    /// <summary>Stanford Online Products: Ebay_train.txt (11,318 classes, 59,551 images) and Ebay_test.txt (11,316 classes, 60,502 images).</summary>
    /// <param name="layout">A layout read by <see cref="StanfordOnlineProducts.Read"/> from the split files.</param>
    /// <param name="validationFraction">Fraction of the training classes (the last ones) held out for validation; 0 for none.</param>
    /// <exception cref="ArgumentException">The layout has no official train/test flags (read from Ebay_info.txt).</exception>
    public static DatasetSplit Sop(DatasetLayout layout, double validationFraction = DefaultValidationFraction)
    {
        if (layout.Records.Any(r => r.OfficialTrain is null))
            throw new ArgumentException("The SOP split needs Ebay_train.txt and Ebay_test.txt (this layout has images without a train/test flag).", nameof(layout));
        var train = layout.Records.Where(r => r.OfficialTrain == true).ToArray();
        var test = layout.Records.Where(r => r.OfficialTrain == false).ToArray();
        return Carve(layout, train, test, validationFraction, (11318, 59551), (11316, 60502));
    }

    /// <summary>
    /// A generic class split: the classes (ascending id) up to <paramref name="trainClasses"/> train, the rest test.
    /// </summary>
    /// <param name="layout">Any layout.</param>
    /// <param name="trainClasses">The number of training classes (default: half, rounded down).</param>
    /// <param name="validationFraction">Fraction of the training classes (the last ones) held out for validation; 0 for none.</param>
    public static DatasetSplit ByClasses(DatasetLayout layout, int? trainClasses = null, double validationFraction = DefaultValidationFraction) =>
        ByClassHalves(layout, trainClasses ?? layout.ClassIds.Count / 2, validationFraction, null, null);

    private static DatasetSplit ByMaxTrainClassId(DatasetLayout layout, int maxTrainClassId, double validationFraction, (int, int)? expectTrain, (int, int)? expectTest) =>
        Carve(layout, layout.Records.Where(r => r.ClassId <= maxTrainClassId).ToArray(),
            layout.Records.Where(r => r.ClassId > maxTrainClassId).ToArray(), validationFraction, expectTrain, expectTest);

    private static DatasetSplit ByClassHalves(DatasetLayout layout, int trainClasses, double validationFraction, (int, int)? expectTrain, (int, int)? expectTest)
    {
        var ids = layout.ClassIds;
        if (trainClasses < 1 || trainClasses >= ids.Count)
            throw new ArgumentOutOfRangeException(nameof(trainClasses), trainClasses, $"{layout.Name} has {ids.Count} classes; the training classes must be between 1 and {ids.Count - 1}.");
        var trainIds = ids.Take(trainClasses).ToHashSet();
        return Carve(layout, layout.Records.Where(r => trainIds.Contains(r.ClassId)).ToArray(),
            layout.Records.Where(r => !trainIds.Contains(r.ClassId)).ToArray(), validationFraction, expectTrain, expectTest);
    }

    private static DatasetSplit Carve(DatasetLayout layout, ImageRecord[] train, ImageRecord[] test, double validationFraction, (int Classes, int Images)? expectTrain, (int Classes, int Images)? expectTest)
    {
        if (!(validationFraction >= 0 && validationFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(validationFraction), validationFraction, "The validation fraction must be in [0, 1).");
        var trainIds = train.Select(r => r.ClassId).Distinct().Order().ToArray();
        int validationClasses = (int)Math.Round(trainIds.Length * validationFraction, MidpointRounding.AwayFromZero);
        var validationIds = trainIds.Skip(trainIds.Length - validationClasses).ToHashSet();
        return new DatasetSplit(layout,
            new SplitPart("train", train.Where(r => !validationIds.Contains(r.ClassId)).ToArray(), expectTrain?.Classes, expectTrain?.Images),
            new SplitPart("validation", train.Where(r => validationIds.Contains(r.ClassId)).ToArray()),
            new SplitPart("test", test, expectTest?.Classes, expectTest?.Images));
    }
}
