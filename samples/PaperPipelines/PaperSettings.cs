using System.ComponentModel;
using System.Globalization;
using EmbeddingDistillation.Samples.CommandLine;
using EmbeddingDistillation.Vision;
using Spectre.Console;
using Spectre.Console.Cli;

namespace EmbeddingDistillation.Samples.PaperPipelines;

/// <summary>
/// The paper pipelines' command line. Unset options take the dataset's <see cref="PaperPreset"/>;
/// <see cref="Validate"/> checks every value (and that the input files exist) before any work starts, and
/// <see cref="ToOptions"/> turns the settings into <see cref="PaperPipelineOptions"/>.
/// </summary>
public sealed class PaperSettings : CommandSettings
{
    // Data
    [CommandOption("--dataset <NAME>")]
    [Description("Benchmark: cub, cars or sop (required)")]
    public string? Dataset { get; init; }

    [CommandOption("--root <PATH>")]
    [Description("Dataset root: CUB_200_2011/, the Cars-196 folder, Stanford_Online_Products/ (required)")]
    public string? Root { get; init; }

    [CommandOption("--max-classes <N>")]
    [Description("Keep at most N classes per split part (smoke runs), at least 2")]
    public int? MaxClasses { get; init; }

    [CommandOption("--max-images-per-class <N>")]
    [Description("Keep at most N images per class (smoke runs), at least 2")]
    public int? MaxImagesPerClass { get; init; }

    [CommandOption("--validation-fraction <F>")]
    [Description("Training classes held out for best-epoch selection, 0 to 0.99 (default 0, as the paper)")]
    public double? ValidationFraction { get; init; }

    [CommandOption("--image-size <S>")]
    [Description("Crop size, 8-1024 (default 224; resize = round(S*256/224))")]
    public int? ImageSize { get; init; }

    [CommandOption("--skip-corrupt-images")]
    [Description("Leave out the images the up-front check finds corrupt (listed in the log, results.md and skipped-images.txt) instead of stopping; missing files always stop")]
    public bool SkipCorruptImages { get; init; }

    // Networks
    [CommandOption("--teacher <NAME>")]
    [Description("Default resnet101 (resnet18/34/50/101, mobilenetv1-W, mobilenetv2-W)")]
    public string? Teacher { get; init; }

    [CommandOption("--student <LIST>")]
    [Description("Comma list of student networks (default mobilenetv1-0.25,resnet18)")]
    public string? Student { get; init; }

    [CommandOption("--embedding-dim <D>")]
    [Description("Embedding dimension, 1-4096 (default 512)")]
    public int? EmbeddingDim { get; init; }

    [CommandOption("--teacher-weights <FILE>")]
    [Description("ImageNet backbone weights (.pth/.safetensors), e.g. resnet101-63fe2227.pth")]
    public string? TeacherWeights { get; init; }

    [CommandOption("--student-weights <LIST>")]
    [Description("ImageNet weights per student, comma list in --student order")]
    public string? StudentWeights { get; init; }

    [CommandOption("--teacher-checkpoint <FILE>")]
    [Description("Load a trained teacher from FILE if it exists (skip teacher training), else save it there")]
    public string? TeacherCheckpoint { get; init; }

    [CommandOption("--base-width <N>")]
    [Description("ResNet base width (default 64; tiny networks for smoke runs)")]
    public int? BaseWidth { get; init; }

    [CommandOption("--small-stem <MODE>")]
    [Description("Stride-1 stem for small crops: on, off or auto (default auto: on for crops <= 64 px)")]
    public string? SmallStem { get; init; }

    // Training
    [CommandOption("--epochs <N>")]
    [Description("Student epochs (default: CUB 2000, Cars 3000, SOP 50, as the original script)")]
    public int? Epochs { get; init; }

    [CommandOption("--teacher-epochs <N>")]
    [Description("Teacher epochs (default: --epochs)")]
    public int? TeacherEpochs { get; init; }

    [CommandOption("--batches-per-epoch <N>")]
    [Description("Default: training classes / 4")]
    public int? BatchesPerEpoch { get; init; }

    [CommandOption("--max-steps <N>")]
    [Description("Cap on steps per run (throughput measurements)")]
    public int? MaxSteps { get; init; }

    [CommandOption("--lr <X>")]
    [Description("Adam learning rate (default: 1e-5 CUB/Cars, 1e-6 SOP)")]
    public double? Lr { get; init; }

    [CommandOption("--methods <LIST>")]
    [Description("Comma list (default baseline,absolute,relative); a method is '+'-joined terms: absolute, relative, rkd, hint, attention (e.g. relative+attention)")]
    public string? Methods { get; init; }

    [CommandOption("--lambda-absolute <X>")]
    [Description("Default: CUB 1.0, Cars 1.5, SOP 2.0")]
    public double? LambdaAbsolute { get; init; }

    [CommandOption("--lambda-relative <X>")]
    [Description("Default: CUB 0.3, Cars 0.1, SOP 1.0")]
    public double? LambdaRelative { get; init; }

    [CommandOption("--hint-weight <X>")]
    [DefaultValue(1.0)]
    public double HintWeight { get; init; } = 1.0;

    [CommandOption("--attention-weight <X>")]
    [DefaultValue(1000.0)]
    public double AttentionWeight { get; init; } = 1000.0;

    [CommandOption("--feature-taps <T:S>")]
    [Description("teacher:student taps of hint/attention (default: same stride, e.g. layer3:stage4)")]
    public string? FeatureTaps { get; init; }

    [CommandOption("--unlabelled <DIR>")]
    [Description("Semi-supervised: images below DIR carry only the distillation terms")]
    public string? Unlabelled { get; init; }

    [CommandOption("--unlabelled-ratio <R>")]
    [Description("Unlabelled batches per labelled batch")]
    [DefaultValue(1.0)]
    public double UnlabelledRatio { get; init; } = 1.0;

    [CommandOption("--cross-quality")]
    [Description("Students see degraded images (train and test), the teacher the clean ones")]
    public bool CrossQuality { get; init; }

    [CommandOption("--lq-downscale <F>")]
    [Description("Degradation: downscale factor, >= 1")]
    [DefaultValue(4.0)]
    public double LqDownscale { get; init; } = 4.0;

    [CommandOption("--lq-jpeg <Q>")]
    [Description("Degradation: an extra JPEG re-encoding at quality 1-100, or none (the paper degrades resolution only)")]
    [DefaultValue("none")]
    public string LqJpeg { get; init; } = "none";

    [CommandOption("--checkpoints")]
    [Description("Save resumable checkpoints every epoch under REPORT/checkpoints (--resume implies it)")]
    public bool Checkpoints { get; init; }

    [CommandOption("--seed <N>")]
    [DefaultValue(0)]
    public int Seed { get; init; }

    [CommandOption("--device <DEVICE>")]
    [Description("auto, cpu, cuda or cuda:N")]
    [DefaultValue("auto")]
    public string Device { get; init; } = "auto";

    [CommandOption("--threads <N>")]
    [Description("Torch CPU threads (default: all cores)")]
    public int? Threads { get; init; }

    // Evaluation and report
    [CommandOption("--sop-queries <N>")]
    [Description("SOP: N random queries against the full test gallery (the original code used 10000)")]
    public int? SopQueries { get; init; }

    [CommandOption("--eval-batch <N>")]
    [DefaultValue(64)]
    public int EvalBatch { get; init; } = 64;

    [CommandOption("--latency-iterations <N>")]
    [DefaultValue(10)]
    public int LatencyIterations { get; init; } = 10;

    [CommandOption("--report <DIR>")]
    [Description("Report folder; an existing non-empty one needs --resume or --overwrite")]
    [DefaultValue("paper-report")]
    public string Report { get; init; } = "paper-report";

    [CommandOption("--resume")]
    [Description("Continue the run in --report: finished runs are reloaded, the interrupted one continues from its last checkpoint (implies --checkpoints). Refused if a result-affecting option differs")]
    public bool Resume { get; init; }

    [CommandOption("--overwrite")]
    [Description("Delete what an earlier run wrote in --report, then start again (other files are kept)")]
    public bool Overwrite { get; init; }

    /// <summary>The dataset names <c>--dataset</c> accepts.</summary>
    private static readonly Dictionary<string, PaperDataset> DatasetNames = new(StringComparer.OrdinalIgnoreCase)
    {
        ["cub"] = PaperDataset.Cub, ["cub200"] = PaperDataset.Cub, ["cub-200-2011"] = PaperDataset.Cub,
        ["cars"] = PaperDataset.Cars, ["cars196"] = PaperDataset.Cars, ["car"] = PaperDataset.Cars,
        ["sop"] = PaperDataset.Sop, ["products"] = PaperDataset.Sop, ["stanford-online-products"] = PaperDataset.Sop,
    };

    /// <summary>The pipeline's options (call after <see cref="Validate"/> succeeded).</summary>
    public PaperPipelineOptions ToOptions() => new()
    {
        Dataset = DatasetNames[Dataset!], Root = Root!, Report = Report, Device = Device, Seed = Seed, Threads = Threads,
        ImageSize = ImageSize, Epochs = Epochs, TeacherEpochs = TeacherEpochs, MaxSteps = MaxSteps, BatchesPerEpoch = BatchesPerEpoch,
        Teacher = Teacher, Students = Student is null ? null : List(Student), EmbeddingDimension = EmbeddingDim, BaseWidth = BaseWidth ?? 64,
        SmallStem = SmallStemMode(), TeacherWeights = TeacherWeights, StudentWeights = StudentWeights is null ? null : List(StudentWeights),
        TeacherCheckpoint = TeacherCheckpoint, Methods = Methods is null ? ["baseline", "absolute", "relative"] : List(Methods.ToLowerInvariant()),
        LearningRate = Lr, AbsoluteWeight = LambdaAbsolute, RelativeWeight = LambdaRelative, HintWeight = HintWeight, AttentionWeight = AttentionWeight,
        FeatureTaps = FeatureTaps, Unlabelled = Unlabelled, UnlabelledRatio = UnlabelledRatio, CrossQuality = CrossQuality, Checkpoints = Checkpoints,
        LowQuality = new LowQualityOptions { DownscaleFactor = LqDownscale, JpegQuality = LqJpeg == "none" ? null : int.Parse(LqJpeg, CultureInfo.InvariantCulture) },
        SopQueries = SopQueries, MaxClasses = MaxClasses, MaxImagesPerClass = MaxImagesPerClass, ValidationFraction = ValidationFraction ?? 0,
        EvaluationBatchSize = EvalBatch, LatencyIterations = LatencyIterations,
        Resume = Resume, Overwrite = Overwrite, SkipCorruptImages = SkipCorruptImages,
    };

    public override ValidationResult Validate()
    {
        var check = new OptionChecks();
        if (Dataset is null) check.Fail("Missing --dataset cub|cars|sop.");
        else if (!DatasetNames.ContainsKey(Dataset)) check.Fail($"Option --dataset: '{Dataset}' is not a benchmark; use cub, cars or sop.");
        if (string.IsNullOrWhiteSpace(Root)) check.Fail("Missing --root PATH (the extracted dataset folder; see docs/paper.md).");
        check.DirectoryExists("--root", Root)
            .AtLeast("--max-classes", MaxClasses, 2).AtLeast("--max-images-per-class", MaxImagesPerClass, 2)
            .Require(ValidationFraction is null or (>= 0 and < 1), $"Option --validation-fraction must be in [0, 1), got {ValidationFraction?.ToString(CultureInfo.InvariantCulture)}.")
            .InRange("--image-size", ImageSize, 8, 1024)
            .Network("--teacher", Teacher)
            .InRange("--embedding-dim", EmbeddingDim, 1, 4096).AtLeast("--base-width", BaseWidth, 1)
            .OneOf("--small-stem", SmallStem?.ToLowerInvariant(), ["on", "off", "auto", "true", "false"])
            .FileExists("--teacher-weights", TeacherWeights)
            .Require(TeacherCheckpoint is null || !Directory.Exists(TeacherCheckpoint), $"Option --teacher-checkpoint: '{TeacherCheckpoint}' is a folder; give a file name.")
            .AtLeast("--epochs", Epochs, 1).AtLeast("--teacher-epochs", TeacherEpochs, 1)
            .AtLeast("--batches-per-epoch", BatchesPerEpoch, 1).AtLeast("--max-steps", MaxSteps, 1)
            .Positive("--lr", Lr).NonNegative("--lambda-absolute", LambdaAbsolute).NonNegative("--lambda-relative", LambdaRelative)
            .NonNegative("--hint-weight", HintWeight).NonNegative("--attention-weight", AttentionWeight)
            .DirectoryExists("--unlabelled", Unlabelled).Positive("--unlabelled-ratio", UnlabelledRatio)
            .Require(double.IsFinite(LqDownscale) && LqDownscale >= 1, $"Option --lq-downscale must be a finite number >= 1, got {LqDownscale.ToString(CultureInfo.InvariantCulture)}.")
            .Require(LqJpeg == "none" || (int.TryParse(LqJpeg, NumberStyles.Integer, CultureInfo.InvariantCulture, out var q) && q is >= 1 and <= 100),
                $"Option --lq-jpeg must be in [1, 100] or none, got '{LqJpeg}'.")
            .Device("--device", Device).AtLeast("--threads", Threads, 1)
            .AtLeast("--sop-queries", SopQueries, 1).AtLeast("--eval-batch", EvalBatch, 1).AtLeast("--latency-iterations", LatencyIterations, 1)
            .Require(!(Resume && Overwrite), "--resume and --overwrite contradict each other: give one of them.");
        CheckLists(check);
        if (SopQueries is not null && Dataset is not null && DatasetNames.TryGetValue(Dataset, out var d) && d != PaperDataset.Sop)
            check.Fail("Option --sop-queries applies to --dataset sop only.");
        if (FeatureTaps is not null && (FeatureTaps.Split(':') is not [var t, var s] || string.IsNullOrWhiteSpace(t) || string.IsNullOrWhiteSpace(s)))
            check.Fail($"Option --feature-taps needs teacherTap:studentTap (e.g. layer3:stage4), got '{FeatureTaps}'.");
        return check.Result();
    }

    private void CheckLists(OptionChecks check)
    {
        var students = Student is null ? null : List(Student);
        foreach (var s in students ?? []) check.Network("--student", s);
        if (students?.Any(string.IsNullOrEmpty) == true) check.Fail($"Option --student has an empty item in '{Student}'.");
        if (StudentWeights is not null)
        {
            var weights = List(StudentWeights);
            foreach (var w in weights) check.FileExists("--student-weights", w);
            int count = students?.Length ?? 2;
            if (weights.Length > count) check.Fail($"Option --student-weights lists {weights.Length} files for {count} students ('{StudentWeights}').");
        }
        var methods = Methods is null ? [] : List(Methods.ToLowerInvariant());
        foreach (var m in methods.Where(m => m != "baseline"))
            foreach (var term in m.Split('+').Where(t => !PaperObjectives.Terms.Contains(t)))
                check.Fail($"Option --methods: unknown term '{term}' in '{m}'; use baseline, or '+'-joined terms of {string.Join(", ", PaperObjectives.Terms)}.");
        if (methods.Distinct().Count() != methods.Length) check.Fail($"Option --methods lists a method twice: '{Methods}'.");
        if (Unlabelled is not null && (Methods is null ? false : methods.All(m => m == "baseline")))
            check.Fail("Option --unlabelled needs a distillation method in --methods (unlabelled batches carry only the distillation terms).");
    }

    private bool? SmallStemMode() => SmallStem?.ToLowerInvariant() switch
    {
        "on" or "true" => true,
        "off" or "false" => false,
        _ => null,
    };

    private static string[] List(string value) => value.Split(',', StringSplitOptions.TrimEntries);
}
