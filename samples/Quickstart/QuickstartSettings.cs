using EmbeddingDistillation.Networks;
using System.ComponentModel;
using EmbeddingDistillation.Samples.CommandLine;
using Spectre.Console;
using Spectre.Console.Cli;

namespace EmbeddingDistillation.Samples.Quickstart;

/// <summary>
/// The quickstart's command line. Options whose default depends on <c>--fast</c> are nullable here and resolved by
/// <see cref="Resolve"/>; <see cref="Validate"/> checks every resolved value before any work starts.
/// </summary>
internal sealed class QuickstartSettings : CommandSettings
{
    /// <summary>The metric losses the quickstart can build, by their command-line names.</summary>
    public static readonly string[] MetricLosses = [.. Losses.LossCatalog.MetricLossNames];

    /// <summary>The distilled students it can train.</summary>
    public static readonly string[] DistillationVariants = ["absolute", "relative", "rkd"];

    [CommandOption("--fast")]
    [Description("CI-sized run (60 classes x 30 images, half-width teacher, 4 epochs each; under 2 minutes)")]
    public bool Fast { get; init; }

    [CommandOption("--seeds <LIST>")]
    [Description("Run the whole quickstart once per dataset seed (REPORT/seed-N) and write summary.md: mean ± std over the seeds")]
    public string? Seeds { get; init; }

    [CommandOption("--calibrate")]
    [Description("Instead of the quickstart: choose its defaults on validation classes only, over --calibration-seeds (default 1,5, side by side; about an hour per seed on one idle core; docs/quickstart.md). Report default: quickstart-calibration")]
    public bool Calibrate { get; init; }

    [CommandOption("--calibration-seeds <LIST>")]
    [Description("Dataset seeds of --calibrate, comma separated")]
    [DefaultValue("1,5")]
    public string CalibrationSeeds { get; init; } = "1,5";

    [CommandOption("--report <DIR>")]
    [Description("Report folder; an existing non-empty one needs --resume or --overwrite")]
    [DefaultValue("quickstart-report")]
    public string Report { get; init; } = "quickstart-report";

    [CommandOption("--resume")]
    [Description("Continue the run in --report: finished runs are reloaded, the interrupted one continues from its last checkpoint. Refused if a result-affecting option differs")]
    public bool Resume { get; init; }

    [CommandOption("--overwrite")]
    [Description("Delete what an earlier quickstart wrote in --report, then start again (other files are kept)")]
    public bool Overwrite { get; init; }

    [CommandOption("--seed <N>")]
    [Description("Seed of data, initialisation and batches")]
    [DefaultValue(7)]
    public int Seed { get; init; } = 7;

    [CommandOption("--device <DEVICE>")]
    [Description("auto, cpu, cuda or cuda:N (auto: cuda when available)")]
    [DefaultValue("auto")]
    public string Device { get; init; } = "auto";

    [CommandOption("--threads <N>")]
    [Description("CPU threads (default: all cores)")]
    public int? Threads { get; init; }

    [CommandOption("--parallel-students <N>")]
    [Description("Students trained at once (--calibrate: the seeds of a configuration), each with --threads / N threads (default on the CPU: --threads, every student at one thread, which small networks use best; with CUDA: 1). Changes only the last bits of the results, as --threads does")]
    public int? ParallelStudents { get; init; }

    [CommandOption("--classes <N>")]
    [Description("Synthetic classes, 4-384 (default 100; --fast 60)")]
    public int? Classes { get; init; }

    [CommandOption("--images-per-class <N>")]
    [Description("Images per class (default 50; --fast 30)")]
    public int? ImagesPerClass { get; init; }

    [CommandOption("--image-size <PX>")]
    [Description("Image side in pixels, 8-256")]
    [DefaultValue(32)]
    public int ImageSize { get; init; } = 32;

    [CommandOption("--validation-classes <N>")]
    [Description("Training classes held out for model selection (default 10; --calibrate 20, so that validation classes share colour pairs as the test classes do; --fast 6)")]
    public int? ValidationClasses { get; init; }

    [CommandOption("--teacher <NAME>")]
    [Description("Teacher network: resnet18/34/50/101, mobilenetv1-W, mobilenetv2-W (trained from scratch), or imagenet-resnet18 (ImageNet weights from ML.NET's NuGet package, fine-tuned with a new head, or frozen with --freeze-teacher)")]
    [DefaultValue("resnet18")]
    public string Teacher { get; init; } = "resnet18";

    [CommandOption("--teacher-weights <FILE>")]
    [Description("Reuse a trained teacher instead of training one (e.g. REPORT/checkpoints/teacher/final.weights)")]
    public string? TeacherWeights { get; init; }

    [CommandOption("--imagenet-model <FILE>")]
    [Description("--teacher imagenet-resnet18: ML.NET's ResNet18.onnx (default: found in the application folder or the NuGet cache)")]
    public string? ImageNetModel { get; init; }

    [CommandOption("--freeze-teacher")]
    [Description("Never train the teacher: imagenet-resnet18 teaches its L2-normalised pooled 512-d ImageNet features; another teacher needs --teacher-weights")]
    public bool FreezeTeacher { get; init; }

    [CommandOption("--teacher-image-size <PX>")]
    [Description("--teacher imagenet-resnet18: the size the teacher sees every image at (bilinear resize inside the teacher), 8-512 (default 64)")]
    public int? TeacherImageSize { get; init; }

    [CommandOption("--no-teacher-cache")]
    [Description("Run the teacher at every step instead of caching its embeddings of the clean images (to measure what the cache saves)")]
    public bool NoTeacherCache { get; init; }

    [CommandOption("--teacher-base-width <N>")]
    [Description("ResNet base width of the teacher (default 64; --fast 32)")]
    public int? TeacherBaseWidth { get; init; }

    [CommandOption("--teacher-small-stem")]
    [Description("Stride-1 stem for the teacher (small images)")]
    public bool TeacherSmallStem { get; init; }

    [CommandOption("--student <NAME>")]
    [Description("Student network")]
    [DefaultValue("mobilenetv1-0.25")]
    public string Student { get; init; } = "mobilenetv1-0.25";

    [CommandOption("--student-standard-stem")]
    [Description("Standard (stride-2) stem for the student instead of the small-input stem")]
    public bool StudentStandardStem { get; init; }

    [CommandOption("--embedding-dim <D>")]
    [Description("Embedding dimension, 1-4096")]
    [DefaultValue(128)]
    public int EmbeddingDim { get; init; } = 128;

    [CommandOption("--teacher-loss <NAME>")]
    [Description("proxy-anchor, multi-similarity, triplet or contrastive")]
    [DefaultValue("proxy-anchor")]
    public string TeacherLoss { get; init; } = "proxy-anchor";

    [CommandOption("--student-loss <NAME>")]
    [Description("The students' own metric loss (same names)")]
    [DefaultValue("multi-similarity")]
    public string StudentLoss { get; init; } = "multi-similarity";

    [CommandOption("--distill <LIST>")]
    [Description("Distilled students to train: comma list of absolute, relative, rkd or '+'-joined combinations (absolute+relative); or none")]
    [DefaultValue("absolute,relative,absolute+relative")]
    public string Distill { get; init; } = "absolute,relative,absolute+relative";

    [CommandOption("--no-baseline")]
    [Description("Skip the baseline student (e.g. when comparing lambdas)")]
    public bool NoBaseline { get; init; }

    [CommandOption("--lambda-absolute <X>")]
    [DefaultValue(5.0)]
    public double LambdaAbsolute { get; init; } = 5.0;

    [CommandOption("--lambda-relative <X>")]
    [Description("Weight of the relative term per pair when it trains alone (default 1, as calibrated)")]
    [DefaultValue(1.0)]
    public double LambdaRelative { get; init; } = 1.0;

    [CommandOption("--lambda-relative-combined <X>")]
    [Description("Weight of the relative term per pair inside absolute+relative (default 1, as calibrated with the combination)")]
    [DefaultValue(1.0)]
    public double LambdaRelativeCombined { get; init; } = 1.0;

    [CommandOption("--lambda-rkd-distance <X>")]
    [DefaultValue(1.0)]
    public double LambdaRkdDistance { get; init; } = 1.0;

    [CommandOption("--lambda-rkd-angle <X>")]
    [DefaultValue(2.0)]
    public double LambdaRkdAngle { get; init; } = 2.0;

    [CommandOption("--distilled-metric-weights <LIST>")]
    [Description("Weight of the students' own metric loss per distilled method, e.g. absolute=0,relative=0 for the teacher terms alone (unlisted: 1; the baseline always 1). Default: 1 for every method (the paper's sum), as calibrated")]
    [DefaultValue(QuickstartOptions.CalibratedMetricWeights)]
    public string DistilledMetricWeights { get; init; } = QuickstartOptions.CalibratedMetricWeights;

    [CommandOption("--teacher-epochs <N>")]
    [Description("Teacher epochs (default 20; --fast 4)")]
    public int? TeacherEpochs { get; init; }

    [CommandOption("--student-epochs <N>")]
    [Description("Epochs of every student (default 60, as calibrated; --fast 4)")]
    public int? StudentEpochs { get; init; }

    [CommandOption("--teacher-lr <X>")]
    [DefaultValue(1e-3)]
    public double TeacherLr { get; init; } = 1e-3;

    [CommandOption("--student-lr <X>")]
    [DefaultValue(3e-2)]
    public double StudentLr { get; init; } = 3e-2;

    [CommandOption("--student-warmup-epochs <N>")]
    [Description("Epochs of linear learning-rate warm-up of every student before the cosine decay, 0 to one less than --student-epochs (default 5, as calibrated, or one less than a shorter --student-epochs; --fast 1)")]
    public int? StudentWarmupEpochs { get; init; }

    [CommandOption("--student-weight-average <DECAY>")]
    [Description("Average every student's weights over its run (exponential moving average with this decay per step, at least 0 and below 1; 0: none): validation, the best epoch and the reported student use the average. Default: as calibrated")]
    public double? StudentWeightAverage { get; init; }

    [CommandOption("--batch-classes <P>")]
    [Description("Classes per batch (P), at least 2")]
    [DefaultValue(8)]
    public int BatchClasses { get; init; } = 8;

    [CommandOption("--batch-images-per-class <K>")]
    [Description("Images per class in a batch (K), at least 2")]
    [DefaultValue(8)]
    public int BatchImagesPerClass { get; init; } = 8;

    /// <summary>The options of the run: explicit values, else the <c>--fast</c> or the full-run defaults.</summary>
    public QuickstartOptions Resolve()
    {
        int studentEpochs = StudentEpochs ?? (Fast ? 4 : QuickstartOptions.DefaultStudentEpochs);
        int threads = Threads ?? Environment.ProcessorCount;
        return new()
        {
            Fast = Fast, Calibrate = Calibrate, CalibrationSeeds = SeedList(CalibrationSeeds) ?? [], Seeds = Seeds is null ? [] : SeedList(Seeds) ?? [],
            Report = Calibrate && Report == "quickstart-report" ? "quickstart-calibration" : Report,
            Resume = Resume, Overwrite = Overwrite, Seed = Seed, Device = Device,
            Threads = threads,
            ParallelStudents = ParallelStudents ?? (OnCpu ? threads : 1),
            Classes = Classes ?? (Fast ? 60 : 100),
            ImagesPerClass = ImagesPerClass ?? (Fast ? 30 : 50),
            ImageSize = ImageSize,
            ValidationClasses = ValidationClasses ?? (Fast ? 6 : Calibrate ? QuickstartOptions.DefaultCalibrationValidationClasses : QuickstartOptions.DefaultValidationClasses),
            Teacher = Teacher, TeacherWeights = TeacherWeights, ImageNetModel = ImageNetModel, FreezeTeacher = FreezeTeacher,
            TeacherImageSize = TeacherImageSize ?? QuickstartOptions.DefaultImageNetTeacherImageSize, TeacherCache = !NoTeacherCache,
            TeacherBaseWidth = TeacherBaseWidth ?? (Fast ? 32 : 64),
            TeacherSmallStem = TeacherSmallStem, Student = Student, StudentSmallStem = !StudentStandardStem,
            EmbeddingDim = EmbeddingDim, TeacherLoss = TeacherLoss, StudentLoss = StudentLoss,
            LambdaAbsolute = LambdaAbsolute, LambdaRelative = LambdaRelative, LambdaRelativeCombined = LambdaRelativeCombined, LambdaRkdDistance = LambdaRkdDistance, LambdaRkdAngle = LambdaRkdAngle,
            DistilledMetricWeights = MetricWeights(DistilledMetricWeights) ?? new Dictionary<string, double>(), Distill = DistillList(), Baseline = !NoBaseline,
            TeacherEpochs = TeacherEpochs ?? (Fast ? 4 : 20),
            StudentEpochs = studentEpochs,
            TeacherLearningRate = TeacherLr, StudentLearningRate = StudentLr,
            // The calibrated warm-up, shortened for a budget too short to hold it and a decay after it.
            StudentWarmupEpochs = StudentWarmupEpochs ?? (Fast ? 1 : Math.Clamp(studentEpochs - 1, 0, QuickstartOptions.DefaultStudentWarmupEpochs)),
            StudentWeightAverage = StudentWeightAverage ?? QuickstartOptions.DefaultStudentWeightAverage,
            ClassesPerBatch = BatchClasses, ImagesPerClassInBatch = BatchImagesPerClass,
        };
    }

    /// <summary>The run will use the CPU, by the library's own rule (<see cref="Devices.Pick"/>); a bad --device is Validate's to report.</summary>
    private bool OnCpu
    {
        get
        {
            try { return Devices.Pick(Device).type == TorchSharp.DeviceType.CPU; }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException) { return false; }
        }
    }

    public override ValidationResult Validate()
    {
        var o = Resolve();
        var check = new OptionChecks()
            .Require(!(Resume && Overwrite), "--resume and --overwrite contradict each other: give one of them.")
            .AtLeast("--threads", o.Threads, 1)
            .AtLeast("--parallel-students", o.ParallelStudents, 1)
            .InRange("--classes", o.Classes, 4, 384)
            .AtLeast("--images-per-class", o.ImagesPerClass, 2)
            .InRange("--image-size", o.ImageSize, 8, 256)
            .AtLeast("--validation-classes", o.ValidationClasses, 1)
            .Network("--teacher", o.ImageNetTeacher ? null : o.Teacher)
            .InRange("--teacher-image-size", TeacherImageSize, 8, 512)
            .FileExists("--imagenet-model", ImageNetModel)
            .AtLeast("--teacher-base-width", o.TeacherBaseWidth, 1)
            .FileExists("--teacher-weights", o.TeacherWeights)
            .Network("--student", o.Student)
            .InRange("--embedding-dim", o.EmbeddingDim, 1, 4096)
            .OneOf("--teacher-loss", o.TeacherLoss, MetricLosses)
            .OneOf("--student-loss", o.StudentLoss, MetricLosses)
            .NonNegative("--lambda-absolute", o.LambdaAbsolute)
            .NonNegative("--lambda-relative", o.LambdaRelative)
            .NonNegative("--lambda-relative-combined", o.LambdaRelativeCombined)
            .NonNegative("--lambda-rkd-distance", o.LambdaRkdDistance)
            .NonNegative("--lambda-rkd-angle", o.LambdaRkdAngle)
            .AtLeast("--teacher-epochs", o.TeacherEpochs, 1)
            .AtLeast("--student-epochs", o.StudentEpochs, 1)
            .Positive("--teacher-lr", o.TeacherLearningRate)
            .Positive("--student-lr", o.StudentLearningRate)
            .InRange("--student-warmup-epochs", o.StudentWarmupEpochs, 0, o.StudentEpochs - 1)
            .Require(o.StudentWeightAverage is >= 0 and < 1, $"Option --student-weight-average: {o.StudentWeightAverage.ToString(System.Globalization.CultureInfo.InvariantCulture)} is not a decay in [0, 1) (0: no averaging).")
            .AtLeast("--batch-classes", o.ClassesPerBatch, 2)
            .AtLeast("--batch-images-per-class", o.ImagesPerClassInBatch, 2)
            .Device("--device", o.Device);
        CheckDistill(check);
        CheckTeacher(check, o);
        if (Seeds is not null && (SeedList(Seeds) is not { Length: > 0 } list || list.Distinct().Count() != list.Length))
            check.Fail($"Option --seeds: '{Seeds}' is not a comma list of distinct integers.");
        if (Seeds is not null && Calibrate) check.Fail("Options --seeds and --calibrate contradict each other: the calibration has its own --calibration-seeds.");
        if (SeedList(CalibrationSeeds) is not { Length: > 0 } seeds || seeds.Distinct().Count() != seeds.Length)
            check.Fail($"Option --calibration-seeds: '{CalibrationSeeds}' is not a comma list of distinct integers.");
        if (MetricWeights(DistilledMetricWeights) is null)
            check.Fail($"Option --distilled-metric-weights: '{DistilledMetricWeights}' is not a comma list of method=weight with weights >= 0 (e.g. absolute=0,relative=1).");
        // The paper's split: the first half of the classes train (minus the validation classes), the second half test.
        int trainClasses = o.Classes / 2 - o.ValidationClasses;
        if (check.Errors.Count == 0 && trainClasses < o.ClassesPerBatch)
            check.Fail($"Option --validation-classes {o.ValidationClasses} leaves {trainClasses} training classes of --classes {o.Classes} " +
                $"(half of them train), fewer than --batch-classes {o.ClassesPerBatch}: lower --validation-classes or --batch-classes, or raise --classes.");
        return check.Result();
    }

    /// <summary>The ImageNet teacher's options, and what a frozen teacher needs.</summary>
    private void CheckTeacher(OptionChecks check, QuickstartOptions o)
    {
        const string ImageNet = ImageNetTeacherOption.Name;
        if (!o.ImageNetTeacher)
        {
            if (ImageNetModel is not null) check.Fail($"Option --imagenet-model applies to --teacher {ImageNet} only (the teacher is '{o.Teacher}').");
            if (TeacherImageSize is not null)
                check.Fail($"Option --teacher-image-size applies to --teacher {ImageNet} only: a teacher trained from scratch sees the images as they are (--image-size).");
            if (FreezeTeacher && TeacherWeights is null)
                check.Fail($"Option --freeze-teacher with --teacher {o.Teacher} needs --teacher-weights FILE (a trained teacher): a frozen, randomly " +
                    $"initialised network teaches nothing. Or use --teacher {ImageNet}, whose frozen embedding is its ImageNet features.");
        }
        else
        {
            ImageNetTeacherOption.RequireModelFile(check, ImageNetModel);
            if (TeacherBaseWidth is not null) check.Fail($"Option --teacher-base-width does not apply to --teacher {ImageNet} (the ImageNet ResNet-18 has base width 64).");
            if (TeacherSmallStem)
                check.Fail($"Option --teacher-small-stem does not apply to --teacher {ImageNet}: its ImageNet weights are those of the standard stem (--teacher-image-size enlarges the images instead).");
            if (FreezeTeacher && TeacherWeights is not null)
                check.Fail($"Options --freeze-teacher and --teacher-weights contradict each other with --teacher {ImageNet}: frozen, the teacher is the ImageNet " +
                    "network itself; --teacher-weights loads a fine-tuned one (which is not retrained either). Give one of them.");
            if (FreezeTeacher && o.EmbeddingDim != ImageNetTeacherOption.FeatureDimension
                && o.Distill.FirstOrDefault(m => m.Split('+').Contains("absolute")) is { } method)
                check.Fail($"Option --distill {method}: the absolute term needs the students' embedding dimension to equal the teacher's, and the frozen " +
                    $"{ImageNet} teaches its {ImageNetTeacherOption.FeatureDimension} pooled ImageNet features (--embedding-dim is {o.EmbeddingDim}). " +
                    $"Pass --embedding-dim {ImageNetTeacherOption.FeatureDimension}, or distil with relative or rkd (they compare distances, in any dimension).");
        }
        if (Calibrate && (o.ImageNetTeacher || FreezeTeacher))
            check.Fail($"Option --calibrate trains its own grid of teachers from scratch; it does not take --teacher {ImageNet} or --freeze-teacher.");
        if (Calibrate && StudentWarmupEpochs is not null)
            check.Fail($"Option --student-warmup-epochs {StudentWarmupEpochs} does not apply to --calibrate: its warm-up stage chooses the students' warm-up " +
                $"({string.Join(", ", Calibration.CalibrationGrid.WarmupEpochs)} epochs, compared on the baseline).");
        if (Calibrate && StudentWeightAverage is not null)
            check.Fail($"Option --student-weight-average {StudentWeightAverage.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)} does not apply to --calibrate: its averaging stage chooses it " +
                $"({string.Join(", ", Calibration.CalibrationGrid.WeightAverages.Select(Calibration.CalibrationGrid.F))}, compared on the baseline).");
        if (Calibrate && StudentEpochs is not null)
            check.Fail($"Option --student-epochs {StudentEpochs} does not apply to --calibrate: its epochs stage chooses the students' budget " +
                $"({string.Join(" or ", Calibration.QuickstartCalibration.DefaultBudgets)} epochs, compared on the baseline).");
    }

    private void CheckDistill(OptionChecks check)
    {
        if (Distill.Trim() == "none") return;
        var items = Distill.Split(',', StringSplitOptions.TrimEntries);
        foreach (var item in items.Where(i => i.Split('+').Any(t => !DistillationVariants.Contains(t)) || i.Split('+').Distinct().Count() != i.Split('+').Length))
            check.Fail($"Option --distill: '{item}' is not one of {string.Join(", ", DistillationVariants)} or a '+'-joined combination of them (or 'none' alone), in '{Distill}'.");
        if (items.Distinct().Count() != items.Length) check.Fail($"Option --distill lists a student twice: '{Distill}'.");
    }

    private string[] DistillList() =>
        Distill.Trim() == "none" ? [] : Distill.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>Parses <c>method=weight,...</c>; null when malformed.</summary>
    internal static Dictionary<string, double>? MetricWeights(string text)
    {
        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var item in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = item.Split('=', StringSplitOptions.TrimEntries);
            if (parts.Length != 2 || parts[0].Length == 0 || parts[0].Split('+').Any(t => !DistillationVariants.Contains(t))
                || !double.TryParse(parts[1], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var w)
                || !(w >= 0) || double.IsInfinity(w) || !result.TryAdd(parts[0], w))
                return null;
        }
        return result;
    }

    /// <summary>Parses a comma list of integers; null when malformed.</summary>
    internal static int[]? SeedList(string text)
    {
        var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var seeds = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out seeds[i])) return null;
        return seeds;
    }
}
