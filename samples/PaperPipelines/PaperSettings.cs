using System.ComponentModel;
using System.Globalization;
using EmbeddingDistillation.Samples.CommandLine;
using EmbeddingDistillation.Vision;
using Spectre.Console;
using Spectre.Console.Cli;

namespace EmbeddingDistillation.Samples.PaperPipelines;

/// <summary>
/// The paper pipelines' command line. Unset options take the recipe's value (<c>--recipe</c>: the dataset's
/// <see cref="PaperPreset"/> or <see cref="ScratchRecipe"/>, combined as <see cref="PaperRunPlan"/> describes);
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

    [CommandOption("--recipe <NAME>")]
    [Description("Hyperparameters: paper (the authors', for ImageNet-initialised backbones), scratch (validated without pretrained weights) or auto (paper when ImageNet weights are given for the teacher and every student, else scratch). Explicit options below override the recipe")]
    [DefaultValue("auto")]
    public string Recipe { get; init; } = "auto";

    [CommandOption("--image-size <S>")]
    [Description("Crop size, 8-1024 (recipe: paper 224, scratch 64; resize = round(S*256/224))")]
    public int? ImageSize { get; init; }

    [CommandOption("--skip-corrupt-images")]
    [Description("Leave out the images the up-front check finds corrupt (listed in the log, results.md and skipped-images.txt) instead of stopping; missing files always stop")]
    public bool SkipCorruptImages { get; init; }

    // Networks
    [CommandOption("--teacher <NAME>")]
    [Description("Recipe: paper resnet101, scratch resnet18 (resnet18/34/50/101, mobilenetv1-W, mobilenetv2-W), or imagenet-resnet18: ML.NET's ImageNet ResNet-18 from the NuGet cache with a new head, fine-tuned (counts as ImageNet weights for --recipe auto) or frozen with --freeze-teacher")]
    public string? Teacher { get; init; }

    [CommandOption("--imagenet-model <FILE>")]
    [Description("--teacher imagenet-resnet18: ML.NET's ResNet18.onnx (default: found in the application folder or the NuGet cache)")]
    public string? ImageNetModel { get; init; }

    [CommandOption("--freeze-teacher")]
    [Description("Never train the teacher: imagenet-resnet18 teaches its L2-normalised pooled 512-d ImageNet features; another teacher needs an existing --teacher-checkpoint")]
    public bool FreezeTeacher { get; init; }

    [CommandOption("--no-teacher-cache")]
    [Description("Run the teacher at every step instead of caching its embeddings of the clean crops (to measure what the cache saves)")]
    public bool NoTeacherCache { get; init; }

    [CommandOption("--teacher-image-size <S>")]
    [Description("--teacher imagenet-resnet18: the size the teacher sees every crop at (bilinear resize inside the teacher), 8-1024 (default: --image-size)")]
    public int? TeacherImageSize { get; init; }

    [CommandOption("--student <LIST>")]
    [Description("Comma list of student networks (recipe: paper mobilenetv1-0.25,resnet18; scratch mobilenetv1-0.25)")]
    public string? Student { get; init; }

    [CommandOption("--embedding-dim <D>")]
    [Description("Embedding dimension, 1-4096 (recipe: paper 512, scratch 128)")]
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
    [Description("ResNet base width (recipe: paper 64, scratch 16; tiny networks for smoke runs)")]
    public int? BaseWidth { get; init; }

    [CommandOption("--small-stem <MODE>")]
    [Description("Stride-1 stem for small crops: on, off or auto (default auto: on for crops <= 64 px with the paper recipe, <= 32 px with the scratch recipe)")]
    public string? SmallStem { get; init; }

    // Training
    [CommandOption("--epochs <N>")]
    [Description("Student epochs, and the teacher's without --teacher-epochs (recipe: paper CUB 2000, Cars 3000, SOP 50, as the original script; scratch 30)")]
    public int? Epochs { get; init; }

    [CommandOption("--teacher-epochs <N>")]
    [Description("Teacher epochs (default: --epochs, else the recipe's: paper as the students, scratch 20)")]
    public int? TeacherEpochs { get; init; }

    [CommandOption("--batches-per-epoch <N>")]
    [Description("Batches per epoch (recipe: paper training classes / 4, the original code's epoch; scratch a full pass, training images / 64)")]
    public int? BatchesPerEpoch { get; init; }

    [CommandOption("--max-steps <N>")]
    [Description("Cap on steps per run (throughput measurements)")]
    public int? MaxSteps { get; init; }

    [CommandOption("--lr <X>")]
    [Description("Learning rate of every run (recipe: paper Adam 1e-5 CUB/Cars, 1e-6 SOP; scratch AdamW, teacher 1e-3, students 1e-2)")]
    public double? Lr { get; init; }

    [CommandOption("--teacher-lr <X>")]
    [Description("Learning rate of the teacher alone (default: --lr, else the recipe's)")]
    public double? TeacherLr { get; init; }

    [CommandOption("--methods <LIST>")]
    [Description("Comma list (default baseline,absolute,relative); a method is '+'-joined terms: absolute, relative, rkd, hint, attention (e.g. relative+attention)")]
    public string? Methods { get; init; }

    [CommandOption("--lambda-absolute <X>")]
    [Description("Recipe: paper CUB 1.0, Cars 1.5, SOP 2.0; scratch 5")]
    public double? LambdaAbsolute { get; init; }

    [CommandOption("--lambda-relative <X>")]
    [Description("Recipe: paper CUB 0.3, Cars 0.1, SOP 1.0 on ||D_S - D_T||_F; scratch 10 per pair, on ||D_S - D_T||_F / N")]
    public double? LambdaRelative { get; init; }

    [CommandOption("--distilled-metric-weights <LIST>")]
    [Description("Weight of the students' own metric loss per distilled method, e.g. absolute=0,relative=1, replacing the recipe's for the methods listed (others: the recipe's, default 1; the baseline always 1)")]
    public string? DistilledMetricWeights { get; init; }

    [CommandOption("--hint-weight <X>")]
    [DefaultValue(1.0)]
    public double HintWeight { get; init; } = 1.0;

    [CommandOption("--attention-weight <X>")]
    [DefaultValue(500.0)]
    public double AttentionWeight { get; init; } = 500.0;

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

    // Generating a dataset instead of running the pipeline
    [CommandOption("--make-synthetic-cub <DIR>")]
    [Description("Write the synthetic fine-grained dataset as a CUB-200-2011 folder at DIR (new or empty) and exit; then run the pipeline with --dataset cub --root DIR (docs/datasets.md)")]
    public string? MakeSyntheticCub { get; init; }

    [CommandOption("--synthetic-classes <N>")]
    [Description("--make-synthetic-cub: classes, 2-200; the first half get CUB ids 1.. (train), the second half 101.. (test) (default 200)")]
    public int? SyntheticClasses { get; init; }

    [CommandOption("--synthetic-images-per-class <N>")]
    [Description("--make-synthetic-cub: images per class, at least 2 (default 30)")]
    public int? SyntheticImagesPerClass { get; init; }

    [CommandOption("--synthetic-size <PX>")]
    [Description("--make-synthetic-cub: image side in pixels, 8-1024 (default 64)")]
    public int? SyntheticSize { get; init; }

    /// <summary>The recipe names <c>--recipe</c> accepts.</summary>
    private static readonly Dictionary<string, RecipeChoice> RecipeNames = new(StringComparer.OrdinalIgnoreCase)
    {
        ["auto"] = RecipeChoice.Auto, ["paper"] = RecipeChoice.Paper, ["scratch"] = RecipeChoice.Scratch,
    };

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
        Dataset = DatasetNames[Dataset!], Root = Root!, Report = Report, Device = Device, Seed = Seed, Threads = Threads, Recipe = RecipeNames[Recipe],
        ImageSize = ImageSize, Epochs = Epochs, TeacherEpochs = TeacherEpochs, MaxSteps = MaxSteps, BatchesPerEpoch = BatchesPerEpoch,
        Teacher = Teacher, ImageNetModel = ImageNetModel, FreezeTeacher = FreezeTeacher, TeacherImageSize = TeacherImageSize, TeacherCache = !NoTeacherCache, Students = Student is null ? null : List(Student), EmbeddingDimension = EmbeddingDim, BaseWidth = BaseWidth,
        SmallStem = SmallStemMode(), TeacherWeights = TeacherWeights, StudentWeights = StudentWeights is null ? null : List(StudentWeights),
        TeacherCheckpoint = TeacherCheckpoint, Methods = Methods is null ? ["baseline", "absolute", "relative"] : List(Methods.ToLowerInvariant()),
        LearningRate = Lr, TeacherLearningRate = TeacherLr, DistilledMetricWeights = DistilledMetricWeights is null ? null : MetricWeights(DistilledMetricWeights),
        AbsoluteWeight = LambdaAbsolute, RelativeWeight = LambdaRelative, HintWeight = HintWeight, AttentionWeight = AttentionWeight,
        FeatureTaps = FeatureTaps, Unlabelled = Unlabelled, UnlabelledRatio = UnlabelledRatio, CrossQuality = CrossQuality, Checkpoints = Checkpoints,
        LowQuality = new LowQualityOptions { DownscaleFactor = LqDownscale, JpegQuality = LqJpeg == "none" ? null : int.Parse(LqJpeg, CultureInfo.InvariantCulture) },
        SopQueries = SopQueries, MaxClasses = MaxClasses, MaxImagesPerClass = MaxImagesPerClass, ValidationFraction = ValidationFraction ?? 0,
        EvaluationBatchSize = EvalBatch, LatencyIterations = LatencyIterations,
        Resume = Resume, Overwrite = Overwrite, SkipCorruptImages = SkipCorruptImages,
    };

    public override ValidationResult Validate()
    {
        var check = new OptionChecks();
        if (MakeSyntheticCub is not null) return SyntheticCubMaker.Validate(this, check).Result();
        if (SyntheticClasses is not null || SyntheticImagesPerClass is not null || SyntheticSize is not null)
            check.Fail("Options --synthetic-classes, --synthetic-images-per-class and --synthetic-size apply to --make-synthetic-cub only.");
        if (Dataset is null) check.Fail("Missing --dataset cub|cars|sop.");
        else if (!DatasetNames.ContainsKey(Dataset)) check.Fail($"Option --dataset: '{Dataset}' is not a benchmark; use cub, cars or sop.");
        if (string.IsNullOrWhiteSpace(Root)) check.Fail("Missing --root PATH (the extracted dataset folder; see docs/paper.md).");
        check.DirectoryExists("--root", Root)
            .AtLeast("--max-classes", MaxClasses, 2).AtLeast("--max-images-per-class", MaxImagesPerClass, 2)
            .Require(ValidationFraction is null or (>= 0 and < 1), $"Option --validation-fraction must be in [0, 1), got {ValidationFraction?.ToString(CultureInfo.InvariantCulture)}.")
            .InRange("--image-size", ImageSize, 8, 1024)
            .Network("--teacher", Teacher == ImageNetTeacherOption.Name ? null : Teacher)
            .InRange("--teacher-image-size", TeacherImageSize, 8, 1024).FileExists("--imagenet-model", ImageNetModel)
            .InRange("--embedding-dim", EmbeddingDim, 1, 4096).AtLeast("--base-width", BaseWidth, 1)
            .OneOf("--small-stem", SmallStem?.ToLowerInvariant(), ["on", "off", "auto", "true", "false"])
            .FileExists("--teacher-weights", TeacherWeights)
            .Require(TeacherCheckpoint is null || !Directory.Exists(TeacherCheckpoint), $"Option --teacher-checkpoint: '{TeacherCheckpoint}' is a folder; give a file name.")
            .AtLeast("--epochs", Epochs, 1).AtLeast("--teacher-epochs", TeacherEpochs, 1)
            .AtLeast("--batches-per-epoch", BatchesPerEpoch, 1).AtLeast("--max-steps", MaxSteps, 1)
            .OneOf("--recipe", Recipe.ToLowerInvariant(), RecipeNames.Keys)
            .Positive("--lr", Lr).Positive("--teacher-lr", TeacherLr).NonNegative("--lambda-absolute", LambdaAbsolute).NonNegative("--lambda-relative", LambdaRelative)
            .NonNegative("--hint-weight", HintWeight).NonNegative("--attention-weight", AttentionWeight)
            .DirectoryExists("--unlabelled", Unlabelled).Positive("--unlabelled-ratio", UnlabelledRatio)
            .Require(double.IsFinite(LqDownscale) && LqDownscale >= 1, $"Option --lq-downscale must be a finite number >= 1, got {LqDownscale.ToString(CultureInfo.InvariantCulture)}.")
            .Require(LqJpeg == "none" || (int.TryParse(LqJpeg, NumberStyles.Integer, CultureInfo.InvariantCulture, out var q) && q is >= 1 and <= 100),
                $"Option --lq-jpeg must be in [1, 100] or none, got '{LqJpeg}'.")
            .Device("--device", Device).AtLeast("--threads", Threads, 1)
            .AtLeast("--sop-queries", SopQueries, 1).AtLeast("--eval-batch", EvalBatch, 1).AtLeast("--latency-iterations", LatencyIterations, 1)
            .Require(!(Resume && Overwrite), "--resume and --overwrite contradict each other: give one of them.");
        CheckLists(check);
        CheckTeacher(check);
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
        if (DistilledMetricWeights is not null && MetricWeights(DistilledMetricWeights) is null)
            check.Fail($"Option --distilled-metric-weights: '{DistilledMetricWeights}' is not a comma list of method=weight (a distillation method, a weight >= 0), e.g. absolute=0,relative=1.");
        if (Unlabelled is not null && (Methods is null ? false : methods.All(m => m == "baseline")))
            check.Fail("Option --unlabelled needs a distillation method in --methods (unlabelled batches carry only the distillation terms).");
    }

    /// <summary>The ImageNet teacher's options, and what a frozen teacher needs.</summary>
    private void CheckTeacher(OptionChecks check)
    {
        const string ImageNet = ImageNetTeacherOption.Name;
        if (Teacher != ImageNet)
        {
            if (ImageNetModel is not null) check.Fail($"Option --imagenet-model applies to --teacher {ImageNet} only.");
            if (TeacherImageSize is not null) check.Fail($"Option --teacher-image-size applies to --teacher {ImageNet} only.");
            if (FreezeTeacher && (TeacherCheckpoint is null || !File.Exists(TeacherCheckpoint)))
                check.Fail($"Option --freeze-teacher with {(Teacher is null ? "the recipe's teacher" : $"--teacher {Teacher}")} needs an existing --teacher-checkpoint FILE " +
                    $"(a trained teacher): a frozen network with a random head teaches nothing. Or use --teacher {ImageNet}, whose frozen embedding is its ImageNet features.");
            return;
        }
        ImageNetTeacherOption.RequireModelFile(check, ImageNetModel);
        if (TeacherWeights is not null)
            check.Fail($"Option --teacher-weights does not apply to --teacher {ImageNet}: it brings its own ImageNet weights.");
        if (FreezeTeacher && TeacherCheckpoint is not null)
            check.Fail($"Options --freeze-teacher and --teacher-checkpoint contradict each other with --teacher {ImageNet}: frozen, the teacher is the ImageNet network itself. Give one of them.");
        var methods = Methods is null ? ["baseline", "absolute", "relative"] : List(Methods.ToLowerInvariant());
        if (TeacherImageSize is not null && methods.FirstOrDefault(m => m.Split('+').Any(t => t is "hint" or "attention")) is { } mapped)
            check.Fail($"Option --teacher-image-size does not go with --methods {mapped}: hint and attention compare the teacher's and the student's maps of the same pixels, which needs one image size.");
        if (FreezeTeacher && check.Errors.Count == 0 && methods.FirstOrDefault(m => m.Split('+').Contains("absolute")) is { } absolute)
        {
            int dim = PaperRunPlan.Resolve(ToOptions(), PaperPreset.For(DatasetNames[Dataset!])).EmbeddingDimension;
            const int features = ImageNetTeacherOption.FeatureDimension;
            if (dim != features)
                check.Fail($"Option --methods {absolute}: the absolute term needs the students' embedding dimension to equal the teacher's, and the frozen {ImageNet} " +
                    $"teaches its {features} pooled ImageNet features (the students' is {dim}{(EmbeddingDim is null ? ", the recipe's" : "")}). Pass --embedding-dim {features}, or leave absolute out of --methods.");
        }
    }

    private bool? SmallStemMode() => SmallStem?.ToLowerInvariant() switch
    {
        "on" or "true" => true,
        "off" or "false" => false,
        _ => null,
    };

    private static string[] List(string value) => value.Split(',', StringSplitOptions.TrimEntries);

    /// <summary>Parses <c>method=weight,...</c> (methods of '+'-joined distillation terms, weights finite and >= 0); null when malformed.</summary>
    internal static Dictionary<string, double>? MetricWeights(string text)
    {
        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var item in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = item.Split('=', StringSplitOptions.TrimEntries);
            if (parts.Length != 2 || parts[0].Length == 0 || parts[0].ToLowerInvariant().Split('+').Any(t => !PaperObjectives.Terms.Contains(t))
                || !double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var w)
                || !(w >= 0) || double.IsInfinity(w) || !result.TryAdd(parts[0].ToLowerInvariant(), w))
                return null;
        }
        return result.Count > 0 ? result : null;
    }

    /// <summary>The canonical text of a metric-weight list (run-settings.json): sorted, invariant culture.</summary>
    internal static string FormatMetricWeights(IReadOnlyDictionary<string, double> weights) =>
        string.Join(",", weights.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value.ToString(CultureInfo.InvariantCulture)}"));
}
