using EmbeddingDistillation.Losses;
using EmbeddingDistillation.Training;

namespace EmbeddingDistillation.Samples.PaperPipelines;

/// <summary><c>--recipe</c>: which hyperparameters the pipeline trains with.</summary>
public enum RecipeChoice
{
    /// <summary>
    /// <see cref="Paper"/> when ImageNet weights are given for the teacher and every student, else
    /// <see cref="Scratch"/> (the paper's recipe collapses without pretrained backbones). The default.
    /// </summary>
    Auto,

    /// <summary>The authors' hyperparameters (<see cref="TrainingRecipe.Paper"/>), meant for ImageNet-initialised backbones.</summary>
    Paper,

    /// <summary>A recipe validated for training without pretrained weights (<see cref="ScratchRecipe"/>).</summary>
    Scratch,
}

/// <summary>How many batches make an epoch.</summary>
public enum EpochLength
{
    /// <summary>The original code's epoch (its <c>RandomIdentitySampler</c>): K images of every training class once, i.e. training classes / P batches.</summary>
    TrainingClassesOverP,

    /// <summary>A full pass over the training images: training images / (P x K) batches.</summary>
    FullPass,
}

/// <summary>
/// Every hyperparameter a pipeline run takes from its recipe: the losses and their weights, the optimiser and its
/// schedule, the batches and the training length, and the network sizes used when the command line names none.
/// Explicit options (<c>--lr</c>, <c>--lambda-*</c>, <c>--epochs</c>, <c>--image-size</c>, ...) take precedence
/// (<see cref="PaperRunPlan"/>).
/// </summary>
public sealed record TrainingRecipe
{
    /// <summary><c>paper</c> or <c>scratch</c>.</summary>
    public required string Name { get; init; }

    /// <summary>The teacher's metric loss, a <see cref="LossCatalog.MetricLossNames"/> name (the paper's: <c>triplet</c>, batch-hard, margin 0).</summary>
    public required string TeacherLoss { get; init; }

    /// <summary>The students' own metric loss (same names).</summary>
    public required string StudentLoss { get; init; }

    /// <summary>
    /// The options record <see cref="LossCatalog.CreateMetricLoss"/> gets for a metric loss by name (e.g. a
    /// <see cref="TripletLossOptions"/> for <c>triplet</c>); a loss not listed takes its defaults.
    /// </summary>
    public IReadOnlyDictionary<string, object> MetricLossOptions { get; init; } = new Dictionary<string, object>();

    /// <summary>The optimiser of every run.</summary>
    public required OptimizerKind Optimizer { get; init; }

    /// <summary>The teacher's learning rate.</summary>
    public required double TeacherLearningRate { get; init; }

    /// <summary>The students' learning rate.</summary>
    public required double StudentLearningRate { get; init; }

    /// <summary>Weight decay (L2 for Adam, decoupled for AdamW).</summary>
    public required double WeightDecay { get; init; }

    /// <summary>The learning-rate schedule after the warm-up.</summary>
    public required LearningRateSchedule Schedule { get; init; }

    /// <summary>A linear warm-up over the first epoch's batches.</summary>
    public required bool WarmUpOneEpoch { get; init; }

    /// <summary>Learning-rate multiplier of a metric loss's learnable parameters (proxy-anchor's proxies); unused when the run's metric loss has none.</summary>
    public required double ProxyLearningRateMultiplier { get; init; }

    /// <summary>
    /// What the frozen teacher sees in runs whose terms read only embeddings. Runs with hint or attention terms always
    /// give the teacher the student's crop, so that the two feature maps show the same pixels.
    /// </summary>
    public required TeacherView TeacherView { get; init; }

    /// <summary>P: classes per batch (fewer when the training split has fewer classes).</summary>
    public required int ClassesPerBatch { get; init; }

    /// <summary>K: images per class in a batch.</summary>
    public required int ImagesPerClass { get; init; }

    /// <summary>What an epoch is.</summary>
    public required EpochLength EpochLength { get; init; }

    /// <summary>The teacher's epochs.</summary>
    public required int TeacherEpochs { get; init; }

    /// <summary>Every student's epochs.</summary>
    public required int StudentEpochs { get; init; }

    /// <summary>lambda of the absolute teacher.</summary>
    public required double AbsoluteWeight { get; init; }

    /// <summary>lambda of the relative teacher, applied to the loss in the form <see cref="RelativeReduction"/>.</summary>
    public required double RelativeWeight { get; init; }

    /// <summary>The relative teacher's form: the paper's Frobenius norm over all pairs, or its per-pair root mean square.</summary>
    public required RelativeReduction RelativeReduction { get; init; }

    /// <summary>Weights of the RKD distance and angle terms.</summary>
    public required (double Distance, double Angle) RkdWeights { get; init; }

    /// <summary>The weight of the students' own metric loss per distilled method (1 when a method is not listed; the baseline always 1).</summary>
    public IReadOnlyDictionary<string, double> DistilledMetricWeights { get; init; } = new Dictionary<string, double>();

    /// <summary>Crop size when <c>--image-size</c> is not given.</summary>
    public required int ImageSize { get; init; }

    /// <summary>
    /// With <c>--small-stem auto</c>, the largest crop that gets the small-input stems (stride-1 stem, no max-pool) on
    /// both networks; larger crops keep the standard stems.
    /// </summary>
    public required int SmallStemMaxImageSize { get; init; }

    /// <summary>The teacher network when <c>--teacher</c> is not given.</summary>
    public required string Teacher { get; init; }

    /// <summary>ResNet base width when <c>--base-width</c> is not given.</summary>
    public required int BaseWidth { get; init; }

    /// <summary>The students when <c>--student</c> is not given.</summary>
    public required IReadOnlyList<string> Students { get; init; }

    /// <summary>Embedding dimension when <c>--embedding-dim</c> is not given.</summary>
    public required int EmbeddingDimension { get; init; }

    /// <summary>
    /// The authors' recipe for <paramref name="preset"/>'s dataset: batch-hard triplet with margin 0 for teacher and
    /// students, Adam (constant rate, CUB/Cars 1e-5, SOP 1e-6) with weight decay 2e-4, P x K = 4 x 8, the original
    /// script's epochs (training classes / 4 batches each), the paper's Frobenius relative loss and lambdas, the
    /// teacher on the student's batch, 224 px (small-input stems for crops of 64 px or less), ResNet-101 teacher, MobileNetV1-0.25 and ResNet-18 students, 512-d.
    /// </summary>
    /// <param name="preset">The dataset's preset.</param>
    public static TrainingRecipe Paper(PaperPreset preset)
    {
        ArgumentNullException.ThrowIfNull(preset);
        return new TrainingRecipe
        {
            Name = "paper",
            TeacherLoss = "triplet", StudentLoss = "triplet",
            Optimizer = OptimizerKind.Adam, TeacherLearningRate = preset.LearningRate, StudentLearningRate = preset.LearningRate,
            WeightDecay = preset.WeightDecay, Schedule = LearningRateSchedule.Constant, WarmUpOneEpoch = false,
            ProxyLearningRateMultiplier = 1, TeacherView = TeacherView.SameAsStudent,
            ClassesPerBatch = preset.ClassesPerBatch, ImagesPerClass = preset.ImagesPerClass,
            EpochLength = EpochLength.TrainingClassesOverP, TeacherEpochs = preset.Epochs, StudentEpochs = preset.Epochs,
            AbsoluteWeight = preset.AbsoluteWeight, RelativeWeight = preset.RelativeWeight, RelativeReduction = RelativeReduction.Frobenius,
            RkdWeights = (1.0, 2.0),
            ImageSize = preset.ImageSize, SmallStemMaxImageSize = 64, Teacher = preset.Teacher, BaseWidth = 64, Students = preset.Students, EmbeddingDimension = preset.EmbeddingDimension,
        };
    }

    /// <summary>The metric-loss weight of a distilled method.</summary>
    /// <param name="method">A method name, e.g. <c>absolute</c>.</param>
    public double MetricWeightOf(string method) => DistilledMetricWeights.TryGetValue(method, out var w) ? w : 1.0;
}
