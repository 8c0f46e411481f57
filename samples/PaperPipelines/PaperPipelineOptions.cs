using EmbeddingDistillation.Vision;

namespace EmbeddingDistillation.Samples.PaperPipelines;

/// <summary>
/// Options of <see cref="PaperPipeline"/>. Null values take the recipe's (<see cref="Recipe"/>: the dataset's
/// <see cref="PaperPreset"/> or <see cref="ScratchRecipe"/>; <see cref="PaperRunPlan"/> says how they combine); the
/// other defaults are documented per option. <see cref="PaperSettings.ToOptions"/> builds them from a command line.
/// </summary>
public sealed record PaperPipelineOptions
{
    /// <summary>The dataset (required).</summary>
    public required PaperDataset Dataset { get; init; }

    /// <summary>The dataset root: CUB_200_2011/, the Cars-196 folder (cars_annos.mat + car_ims/) or Stanford_Online_Products/ (required).</summary>
    public required string Root { get; init; }

    /// <summary>The report folder (default <c>paper-report</c>): results.csv, results.md, summary.txt, weights, checkpoints.</summary>
    public string Report { get; init; } = "paper-report";

    /// <summary>Device: <c>auto</c> (default: CUDA when available), <c>cpu</c>, <c>cuda</c>, <c>cuda:N</c>.</summary>
    public string Device { get; init; } = "auto";

    /// <summary>Seed of every run (initialisation, batches, augmentation). Default 0.</summary>
    public int Seed { get; init; }

    /// <summary>
    /// The hyperparameters: <see cref="RecipeChoice.Auto"/> (default: the paper's when ImageNet weights are given for the
    /// teacher and every student, else the scratch recipe), <see cref="RecipeChoice.Paper"/> or <see cref="RecipeChoice.Scratch"/>.
    /// </summary>
    public RecipeChoice Recipe { get; init; } = RecipeChoice.Auto;

    /// <summary>Crop size in pixels (recipe: paper 224, scratch 64); the resize is round(size · 256 / 224).</summary>
    public int? ImageSize { get; init; }

    /// <summary>Epochs of every student run (recipe: paper the original run script's, scratch 30 full passes).</summary>
    public int? Epochs { get; init; }

    /// <summary>Epochs of the teacher run (default: <see cref="Epochs"/>).</summary>
    public int? TeacherEpochs { get; init; }

    /// <summary>Optional cap on optimisation steps per run (throughput measurements, smoke runs). Null for none.</summary>
    public int? MaxSteps { get; init; }

    /// <summary>Batches per epoch (recipe: paper training classes / P, the original code's epoch; scratch a full pass over the training images).</summary>
    public int? BatchesPerEpoch { get; init; }

    /// <summary>
    /// The teacher architecture (recipe: paper <c>resnet101</c>, scratch <c>resnet18</c>), any <c>EmbeddingNetworks.Create</c>
    /// name, or <c>imagenet-resnet18</c> (<see cref="ImageNetTeacherOption.Name"/>): ML.NET's ImageNet ResNet-18 with a
    /// new head, fine-tuned as the teacher (or frozen with <see cref="FreezeTeacher"/>).
    /// </summary>
    public string? Teacher { get; init; }

    /// <summary>The student architectures (recipe: paper <c>mobilenetv1-0.25</c> and <c>resnet18</c>, scratch <c>mobilenetv1-0.25</c>).</summary>
    public IReadOnlyList<string>? Students { get; init; }

    /// <summary>Embedding dimension (recipe: paper 512, scratch 128).</summary>
    public int? EmbeddingDimension { get; init; }

    /// <summary>ResNet base width (recipe: paper 64 = the standard ResNets, scratch 16; small values give tiny networks for smoke runs).</summary>
    public int? BaseWidth { get; init; }

    /// <summary>Small-input stems (stride-1 stem, no max-pool). Null (default): the recipe decides from the crop size (paper: at most 64 px, scratch: at most 32 px).</summary>
    public bool? SmallStem { get; init; }

    /// <summary>ImageNet weights of the teacher backbone (.pth/.safetensors), e.g. torchvision's <c>resnet101-63fe2227.pth</c>. Null: from scratch.</summary>
    public string? TeacherWeights { get; init; }

    /// <summary>
    /// ML.NET's <c>ResNet18.onnx</c> for <see cref="Teacher"/> <c>imagenet-resnet18</c>; null (default): found by
    /// <c>ImageNetResNet18.FindModelFile</c> (the application folder, then the NuGet cache).
    /// </summary>
    public string? ImageNetModel { get; init; }

    /// <summary>
    /// Never train the teacher (default false). <c>imagenet-resnet18</c> then teaches its L2-normalised pooled 512-d
    /// ImageNet features (identity head); another teacher needs a trained one from <see cref="TeacherCheckpoint"/>.
    /// </summary>
    public bool FreezeTeacher { get; init; }

    /// <summary>
    /// The size the <c>imagenet-resnet18</c> teacher sees every image at (bilinear resize inside the teacher,
    /// <c>ResizedInputNetwork</c>); null (default): the crop size, as every network.
    /// </summary>
    public int? TeacherImageSize { get; init; }

    /// <summary>Cache the teacher's embeddings when it sees the clean crops (default true; false runs it at every step, to measure what the cache saves).</summary>
    public bool TeacherCache { get; init; } = true;

    /// <summary>ImageNet weights of the student backbones, by position in <see cref="Students"/> (null entries or a shorter list: from scratch).</summary>
    public IReadOnlyList<string?>? StudentWeights { get; init; }

    /// <summary>
    /// A trained teacher (TorchSharp weights written by <c>NetworkCheckpoint.Save</c>): loaded when the file exists
    /// (teacher training is skipped), otherwise the trained teacher is saved there. Null: <c>REPORT/teacher.weights</c>
    /// is written and the teacher is always trained.
    /// </summary>
    public string? TeacherCheckpoint { get; init; }

    /// <summary>
    /// The student runs (default <c>baseline</c>, <c>absolute</c>, <c>relative</c>). <c>baseline</c> is the recipe's metric
    /// loss alone; any other is that loss + a '+'-joined list of terms: <c>absolute</c>, <c>relative</c>, <c>rkd</c>,
    /// <c>hint</c>, <c>attention</c> (e.g. <c>relative+attention</c>).
    /// </summary>
    public IReadOnlyList<string> Methods { get; init; } = ["baseline", "absolute", "relative"];

    /// <summary>Learning rate of every run (recipe: paper Adam 1e-5 CUB/Cars, 1e-6 SOP; scratch AdamW, teacher and students their own).</summary>
    public double? LearningRate { get; init; }

    /// <summary>Learning rate of the teacher run alone (default: <see cref="LearningRate"/>, else the recipe's).</summary>
    public double? TeacherLearningRate { get; init; }

    /// <summary>lambda of the absolute teacher (recipe: paper per dataset, scratch the calibrated one).</summary>
    public double? AbsoluteWeight { get; init; }

    /// <summary>lambda of the relative teacher (recipe: paper per dataset on the Frobenius norm, scratch per pair on its root mean square).</summary>
    public double? RelativeWeight { get; init; }

    /// <summary>Weights of the RKD distance and angle terms (recipe: paper 1 and 2, Park et al.; scratch the calibrated ones).</summary>
    public (double Distance, double Angle)? RkdWeights { get; init; }

    /// <summary>The weight of the students' own metric loss per distilled method, replacing the recipe's for the methods listed (baseline: always 1).</summary>
    public IReadOnlyDictionary<string, double>? DistilledMetricWeights { get; init; }

    /// <summary>Weight of the hint (FitNets) term. Default 1.</summary>
    public double HintWeight { get; init; } = 1.0;

    /// <summary>Weight of the attention-transfer term. Default 500: the reference code adds beta/2 x the sum of the per-pair losses with beta = 1000 (Zagoruyko &amp; Komodakis).</summary>
    public double AttentionWeight { get; init; } = 500.0;

    /// <summary>
    /// Taps of hint and attention as <c>teacherTap:studentTap</c>, e.g. <c>layer3:stage4</c>. Null (default): the
    /// teacher's deepest tap at half the final resolution (ResNet <c>layer3</c>) and the student's deepest tap with
    /// the same stride (MobileNet <c>stage4</c>, ResNet-18 <c>layer3</c>), so both maps have the same spatial size.
    /// </summary>
    public string? FeatureTaps { get; init; }

    /// <summary>Folder of unlabelled images (all images below it) for semi-supervised distillation; null for none.</summary>
    public string? Unlabelled { get; init; }

    /// <summary>Unlabelled batches per labelled batch in semi-supervised runs. Default 1.</summary>
    public double UnlabelledRatio { get; init; } = 1.0;

    /// <summary>Cross-quality distillation: students train and are tested on degraded images, the teacher sees the clean ones. Default false.</summary>
    public bool CrossQuality { get; init; }

    /// <summary>The degradation of cross-quality runs (default: downscale 4, JPEG quality 20).</summary>
    public LowQualityOptions LowQuality { get; init; } = new();

    /// <summary>
    /// SOP only: evaluate this many random test queries (seeded) against the full test gallery, self-match excluded,
    /// as the original evaluation code did (10,000); null (default): every test image is a query.
    /// </summary>
    public int? SopQueries { get; init; }

    /// <summary>Keep at most this many classes of each split part (smoke runs). Null: all.</summary>
    public int? MaxClasses { get; init; }

    /// <summary>Keep at most this many images of each class (smoke runs). Null: all.</summary>
    public int? MaxImagesPerClass { get; init; }

    /// <summary>Fraction of the training classes held out for validation and best-epoch selection. Default 0 (the paper trains on all of them).</summary>
    public double ValidationFraction { get; init; }

    /// <summary>
    /// Write resumable checkpoints to <c>REPORT/checkpoints/&lt;run&gt;/</c> (the trainer saves at every epoch end, and
    /// resumes a run whose <c>last.ckpt</c> exists). Default false: the paper's epochs are short (CUB: 25 batches) and a
    /// ResNet-101 checkpoint with its Adam state is about 0.5 GB.
    /// </summary>
    public bool Checkpoints { get; init; }

    /// <summary>
    /// Continue the run in <see cref="Report"/>: finished runs are reloaded, an interrupted one continues from its
    /// <c>last.ckpt</c>. Refused (before any work) when a result-affecting option differs from the report's. Implies
    /// <see cref="Checkpoints"/>. Default false.
    /// </summary>
    public bool Resume { get; init; }

    /// <summary>Delete what an earlier pipeline run wrote in <see cref="Report"/> before starting. Default false.</summary>
    public bool Overwrite { get; init; }

    /// <summary>
    /// Leave out the images the up-front scan finds corrupt (listed in the log, results.md and skipped-images.txt)
    /// instead of stopping. Missing files always stop the run. Default false.
    /// </summary>
    public bool SkipCorruptImages { get; init; }

    /// <summary>Torch CPU threads; null (default): leave torch's setting (all cores) alone.</summary>
    public int? Threads { get; init; }

    /// <summary>Images per forward pass when embedding the test set. Default 64.</summary>
    public int EvaluationBatchSize { get; init; } = 64;

    /// <summary>Timed forward passes of the latency measurement (batch 1). Default 10.</summary>
    public int LatencyIterations { get; init; } = 10;
}
