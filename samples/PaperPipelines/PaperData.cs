using System.Globalization;
using EmbeddingDistillation.Data;
using EmbeddingDistillation.Evaluation;
using EmbeddingDistillation.Training;
using EmbeddingDistillation.Vision;

namespace EmbeddingDistillation.Samples.PaperPipelines;

/// <summary>
/// The data of one pipeline run: the split (restricted for smoke runs), every image checked once up front, the
/// datasets the teacher and the students train and are tested on, and the batches they draw.
/// </summary>
internal sealed class PaperData
{
    private readonly PaperPipelineOptions _o;
    private readonly PaperPreset _preset;
    private readonly PaperRunPlan _plan;

    private PaperData(PaperPipelineOptions options, PaperPreset preset, PaperRunPlan plan, DatasetSplit split, DatasetLayout? unlabelled, IReadOnlyList<ImageFileProblem> skipped)
    {
        _o = options;
        _preset = preset;
        _plan = plan;
        Split = split;
        Skipped = skipped;
        int size = plan.ImageSize;
        ImageOptions = new ImageDatasetOptions { Transform = new ImageTransformOptions { ImageSize = size } };
        TeacherTrain = ImageDataset.FromSplit(split, split.Train, ImageOptions);
        TestClean = ImageDataset.FromSplit(split, split.Test, ImageOptions);
        StudentTrain = options.CrossQuality
            ? new CrossQualityDataset(split.Layout, split.Train.Records, options.LowQuality, ImageOptions, $"{split.Layout.Name} train (cross-quality)")
            : TeacherTrain;
        StudentTest = options.CrossQuality
            ? new ImageDataset(split.Layout, split.Test.Records, ImageOptions with { LowQuality = options.LowQuality }, $"{split.Layout.Name} test (low quality)")
            : TestClean;
        if (unlabelled is not null)
        {
            var o = ImageOptions with { Unlabelled = true };
            Unlabelled = options.CrossQuality
                ? new CrossQualityDataset(unlabelled, null, options.LowQuality, o, unlabelled.Name)
                : new ImageDataset(unlabelled, null, o, unlabelled.Name);
        }
    }

    /// <summary>The split after <c>--max-classes</c>/<c>--max-images-per-class</c> and without skipped images.</summary>
    public DatasetSplit Split { get; }

    /// <summary>Corrupt images left out with <c>--skip-corrupt-images</c>.</summary>
    public IReadOnlyList<ImageFileProblem> Skipped { get; }

    public ImageDatasetOptions ImageOptions { get; }
    public ImageDataset TeacherTrain { get; }
    public ImageDataset TestClean { get; }
    public ImageDataset StudentTrain { get; }
    public ImageDataset StudentTest { get; }
    public ImageDataset? Unlabelled { get; }

    /// <summary>
    /// Reads and splits the dataset, restricts it for smoke runs, and checks every image file once (train,
    /// validation, test and the unlabelled folder) before any training.
    /// </summary>
    /// <exception cref="ImageDataException">A file is missing, or corrupt without <c>--skip-corrupt-images</c>; the message lists the first ones.</exception>
    public static PaperData Load(PaperPipelineOptions o, PaperPreset preset, PaperRunPlan plan, TextWriter log, List<string> warnings, CancellationToken ct)
    {
        var split = Restrict(ReadSplit(o), o);
        log.WriteLine(split.Summary());
        if (o.MaxClasses is not null || o.MaxImagesPerClass is not null)
            log.WriteLine($"Smoke-run restriction: at most {o.MaxClasses?.ToString(CultureInfo.InvariantCulture) ?? "all"} classes per part, {o.MaxImagesPerClass?.ToString(CultureInfo.InvariantCulture) ?? "all"} images per class (counts above are after it).");
        else CheckCounts(split, log, warnings);
        var unlabelled = o.Unlabelled is null ? null : UnlabelledImageFolder.Read(o.Unlabelled);

        var scans = new List<(string Part, DatasetLayout Layout, IReadOnlyList<ImageRecord> Records)>
        {
            ("train", split.Layout, split.Train.Records), ("validation", split.Layout, split.Validation.Records), ("test", split.Layout, split.Test.Records),
        };
        if (unlabelled is not null) scans.Add(("unlabelled", unlabelled, unlabelled.Records));
        int total = scans.Sum(s => s.Records.Count);
        log.WriteLine($"Checking all {total:N0} images once before any training ({string.Join(", ", scans.Select(s => $"{s.Part} {s.Records.Count:N0}"))})...");
        var reports = scans.Select(s => (s.Part, Report: ImageFileScan.Scan(s.Layout, s.Records, cancellationToken: ct))).ToArray();
        var seconds = reports.Sum(r => r.Report.Elapsed.TotalSeconds);
        var problems = reports.SelectMany(r => r.Report.Problems).ToArray();
        log.WriteLine($"Checked {total:N0} images in {seconds:F1} s ({total / Math.Max(seconds, 1e-9):F0} images/s): " +
            (problems.Length == 0 ? "every image decodes." : $"{problems.Length} cannot be used."));

        var missing = problems.Where(p => p.Kind == ImageFileProblemKind.Missing).ToArray();
        if (missing.Length > 0)
            throw new ImageDataException(missing[0].Path,
                $"{missing.Length} image file(s) listed by the dataset are missing (a wrong --root, or an incomplete download?); nothing was trained. " +
                $"Missing files are never skipped. The first ones:{Environment.NewLine}{Describe(missing)}");
        if (problems.Length > 0 && !o.SkipCorruptImages)
            throw new ImageDataException(problems[0].Path,
                $"{problems.Length} of {total:N0} images are corrupt or unreadable; nothing was trained. Replace them, or pass " +
                $"--skip-corrupt-images to leave them out (they are listed in the report). The first ones:{Environment.NewLine}{Describe(problems)}");
        if (problems.Length > 0)
        {
            string w = $"Skipped {problems.Length} corrupt image(s) (--skip-corrupt-images); they are listed in skipped-images.txt:{Environment.NewLine}{Describe(problems)}";
            log.WriteLine(w);
            var byPart = reports.ToDictionary(r => r.Part, r => r.Report);
            split = split with
            {
                Train = split.Train with { Records = byPart["train"].WithoutCorrupt(split.Train.Records) },
                Validation = split.Validation with { Records = byPart["validation"].WithoutCorrupt(split.Validation.Records) },
                Test = split.Test with { Records = byPart["test"].WithoutCorrupt(split.Test.Records) },
            };
            if (unlabelled is not null) unlabelled = unlabelled with { Records = byPart["unlabelled"].WithoutCorrupt(unlabelled.Records) };
        }
        return new PaperData(o, preset, plan, split, unlabelled, problems);
    }

    /// <summary>P: the recipe's classes per batch, or all training classes when there are fewer (smoke runs).</summary>
    public int ClassesPerBatch(IEmbeddingDataset train) => Math.Min(_plan.Recipe.ClassesPerBatch, ClassCount(train));

    /// <summary>K: the recipe's images per class in a batch.</summary>
    public int ImagesPerClass => _plan.Recipe.ImagesPerClass;

    /// <summary>
    /// Batches per epoch: the option, else the recipe's epoch: the original code's (training classes / P) or a full
    /// pass over the training images (training images / (P x K)).
    /// </summary>
    public int BatchesPerEpoch(IEmbeddingDataset train) => _o.BatchesPerEpoch ?? Math.Max(1, _plan.Recipe.EpochLength == EpochLength.FullPass
        ? train.Labels.Count(l => l != DatasetLabels.Unlabelled) / (ClassesPerBatch(train) * ImagesPerClass)
        : ClassCount(train) / ClassesPerBatch(train));

    /// <summary>
    /// The training data of a run on <paramref name="train"/>, its labels re-indexed to class indices 0..C-1 (whatever
    /// the metric loss: proxy-anchor needs them, the others do not mind), with unlabelled batches for semi-supervised
    /// runs; and C, its class count.
    /// </summary>
    public (TrainingData Data, int ClassCount) TrainingData(ImageDataset train, ImageDataset? unlabelled)
    {
        var set = ClassIndexedDataset.Of(train);
        int p = ClassesPerBatch(train), k = ImagesPerClass;
        var sampler = new ClassBalancedSampler(set.Labels, new ClassBalancedSamplerOptions
        {
            ClassesPerBatch = p, ImagesPerClass = k, BatchesPerEpoch = BatchesPerEpoch(train), Seed = _o.Seed,
        });
        IValidator? validator = null;
        if (Split.Validation.Records.Count >= 2)
        {
            var val = train is CrossQualityDataset
                ? new ImageDataset(Split.Layout, Split.Validation.Records, train.Options with { LowQuality = _o.LowQuality }, $"{Split.Layout.Name} validation")
                : ImageDataset.FromSplit(Split, Split.Validation, train.Options);
            validator = new RetrievalValidator(val, _preset.RecallKs, _o.EvaluationBatchSize);
        }
        var data = new TrainingData
        {
            Train = set,
            Sampler = sampler,
            Unlabelled = unlabelled,
            UnlabelledSampler = unlabelled is null ? null
                : new BatchSampler(unlabelled.Count, Math.Min(p * k, unlabelled.Count), shuffle: true, dropLast: true, seed: _o.Seed),
            UnlabelledRatio = _o.UnlabelledRatio,
            Validator = validator,
        };
        return (data, set.ClassCount);
    }

    private static int ClassCount(IEmbeddingDataset train) => train.Labels.Where(l => l != DatasetLabels.Unlabelled).Distinct().Count();

    private static DatasetSplit ReadSplit(PaperPipelineOptions o)
    {
        switch (o.Dataset)
        {
            case PaperDataset.Cub:
                return PaperSplits.Cub(Cub200.Read(o.Root), o.ValidationFraction);
            case PaperDataset.Cars:
                var layout = File.Exists(Path.Combine(o.Root, "cars_annos.mat")) || !Directory.Exists(Path.Combine(o.Root, "train"))
                    ? Cars196.Read(o.Root)
                    : Cars196.ReadClassFolders(o.Root);
                return PaperSplits.Cars(layout, o.ValidationFraction);
            default:
                return PaperSplits.Sop(StanfordOnlineProducts.Read(o.Root), o.ValidationFraction);
        }
    }

    /// <summary>Keeps the first classes of each part and the first images of each class (smoke runs).</summary>
    private static DatasetSplit Restrict(DatasetSplit split, PaperPipelineOptions o)
    {
        if (o.MaxClasses is null && o.MaxImagesPerClass is null) return split;
        SplitPart Limit(SplitPart part)
        {
            var keep = part.Records.Select(r => r.ClassId).Distinct().Order().Take(o.MaxClasses ?? int.MaxValue).ToHashSet();
            var records = part.Records.Where(r => keep.Contains(r.ClassId)).GroupBy(r => r.ClassId)
                .SelectMany(g => g.Take(o.MaxImagesPerClass ?? int.MaxValue)).ToArray();
            return part with { Records = records };
        }
        return split with { Train = Limit(split.Train), Validation = Limit(split.Validation), Test = Limit(split.Test) };
    }

    /// <summary>
    /// A dataset that looks like the paper's (at least half its images) but has a different count is most likely an
    /// incomplete download or another release: say so before hours of training. Much smaller sets are subsets on purpose.
    /// </summary>
    private static void CheckCounts(DatasetSplit split, TextWriter log, List<string> warnings)
    {
        var parts = new[] { ("train+validation", split.Train.Records.Count + split.Validation.Records.Count, split.Train.ExpectedImages), ("test", split.Test.Records.Count, split.Test.ExpectedImages) };
        foreach (var (name, count, expected) in parts)
        {
            if (expected is not int e || count == e || count < e / 2) continue;
            string w = $"WARNING: the {name} part has {count:N0} images where the paper's has {e:N0} (an incomplete download, or another release?); results are not comparable to the paper's.";
            warnings.Add(w);
            log.WriteLine(w);
        }
    }

    private static string Describe(IReadOnlyList<ImageFileProblem> problems, int max = 10) =>
        string.Concat(problems.Take(max).Select(p => $"  {p}{Environment.NewLine}")) + (problems.Count > max ? $"  ... and {problems.Count - max} more" : "");
}
