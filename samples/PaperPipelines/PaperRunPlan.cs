using System.Globalization;

namespace EmbeddingDistillation.Samples.PaperPipelines;

/// <summary>
/// The effective settings of a pipeline run: the recipe <c>--recipe</c> picks (for <c>auto</c>: from the ImageNet
/// weights given), with every option the command line sets explicitly taking precedence over the recipe's value.
/// </summary>
/// <remarks>
/// Precedence, per value: <c>--image-size</c>, <c>--teacher</c>, <c>--student</c>, <c>--embedding-dim</c>,
/// <c>--base-width</c> over the recipe's sizes; <c>--small-stem on|off</c> over the recipe's stem rule (auto: small
/// stems up to 64 px in the paper recipe, up to 32 px in the scratch recipe); <c>--epochs</c> sets every student's epochs and, without
/// <c>--teacher-epochs</c>, the teacher's; <c>--lr</c> sets every run's rate and <c>--teacher-lr</c> the teacher's
/// alone; <c>--lambda-absolute</c> and <c>--lambda-relative</c> replace the recipe's lambdas (the relative one in the
/// recipe's form: the paper's Frobenius norm, or per pair in the scratch recipe); <c>--distilled-metric-weights</c>
/// replaces the recipe's metric-loss weight of each method it lists; <c>--batches-per-epoch</c> replaces the recipe's
/// epoch length. Everything else (losses, optimiser, schedule, P x K, the teacher's view) is the recipe's.
/// </remarks>
public sealed record PaperRunPlan
{
    /// <summary>The recipe in use.</summary>
    public required TrainingRecipe Recipe { get; init; }

    /// <summary>Why this recipe, for the log and results.md, e.g. "recipe scratch: no ImageNet weights for teacher, ...".</summary>
    public required string Reason { get; init; }

    /// <summary>The sizes taken from the recipe because the command line named none, for the log (empty when all were given).</summary>
    public required IReadOnlyList<string> DefaultedSizes { get; init; }

    /// <summary>Networks given by the command line that have no ImageNet weights (the teacher as "teacher").</summary>
    public required IReadOnlyList<string> WithoutImageNetWeights { get; init; }

    public required int ImageSize { get; init; }

    /// <summary>Small-input stems on both networks: <c>--small-stem on|off</c>, or (auto) the crop size against the recipe's <see cref="TrainingRecipe.SmallStemMaxImageSize"/>.</summary>
    public required bool SmallStem { get; init; }
    public required string Teacher { get; init; }
    public required IReadOnlyList<string> Students { get; init; }
    public required int EmbeddingDimension { get; init; }
    public required int BaseWidth { get; init; }
    public required int TeacherEpochs { get; init; }
    public required int StudentEpochs { get; init; }
    public required double TeacherLearningRate { get; init; }
    public required double StudentLearningRate { get; init; }
    public required double AbsoluteWeight { get; init; }
    public required double RelativeWeight { get; init; }
    public required (double Distance, double Angle) RkdWeights { get; init; }
    public required IReadOnlyDictionary<string, double> DistilledMetricWeights { get; init; }

    /// <summary>The weight of the student's own metric loss in <paramref name="method"/> (1 unless the recipe or the command line says otherwise).</summary>
    public double MetricWeightOf(string method) => DistilledMetricWeights.TryGetValue(method, out var w) ? w : 1.0;

    /// <summary>The plan of <paramref name="o"/> on <paramref name="preset"/>'s dataset.</summary>
    public static PaperRunPlan Resolve(PaperPipelineOptions o, PaperPreset preset)
    {
        ArgumentNullException.ThrowIfNull(o);
        ArgumentNullException.ThrowIfNull(preset);
        var paper = TrainingRecipe.Paper(preset);
        // The students the weight list is matched against: the command line's, or the paper's (the list --student-weights follows by default).
        var missingForPaper = MissingWeights(o, o.Students ?? paper.Students);
        var (recipe, reason) = o.Recipe switch
        {
            RecipeChoice.Paper => (paper, "recipe paper (--recipe paper): the authors' hyperparameters"),
            RecipeChoice.Scratch => (ScratchRecipe.Recipe, "recipe scratch (--recipe scratch): validated for training without pretrained weights"),
            _ when missingForPaper.Count == 0 => (paper, "recipe paper (--recipe auto): ImageNet weights are given for the teacher and every student"),
            _ => (ScratchRecipe.Recipe, $"recipe scratch (--recipe auto): no ImageNet weights for {string.Join(", ", Named(missingForPaper, o, ScratchRecipe.Recipe))}; the paper's recipe " +
                $"(batch-hard triplet, margin 0, Adam lr {Rate(paper.StudentLearningRate)}) collapses from scratch"),
        };

        var defaulted = new List<string>();
        T Size<T>(T? given, T fromRecipe, string what) where T : struct
        {
            if (given is T g) return g;
            defaulted.Add(what);
            return fromRecipe;
        }
        string Name(string? given, string fromRecipe, string what)
        {
            if (given is not null) return given;
            defaulted.Add(what);
            return fromRecipe;
        }
        int size = Size(o.ImageSize, recipe.ImageSize, $"{recipe.ImageSize} px crops");
        string teacher = Name(o.Teacher, recipe.Teacher, $"teacher {recipe.Teacher}");
        int baseWidth = Size(o.BaseWidth, recipe.BaseWidth, $"ResNet base width {recipe.BaseWidth}");
        var students = o.Students ?? recipe.Students;
        if (o.Students is null) defaulted.Add($"student{(students.Count > 1 ? "s" : "")} {string.Join(", ", students)}");
        int dim = Size(o.EmbeddingDimension, recipe.EmbeddingDimension, $"{recipe.EmbeddingDimension}-d embeddings");

        var metricWeights = new Dictionary<string, double>(recipe.DistilledMetricWeights);
        foreach (var (method, weight) in o.DistilledMetricWeights ?? new Dictionary<string, double>()) metricWeights[method] = weight;
        return new PaperRunPlan
        {
            Recipe = recipe, Reason = reason, DefaultedSizes = defaulted, WithoutImageNetWeights = MissingWeights(o, students),
            ImageSize = size, SmallStem = o.SmallStem ?? size <= recipe.SmallStemMaxImageSize, Teacher = teacher, Students = students, EmbeddingDimension = dim, BaseWidth = baseWidth,
            StudentEpochs = o.Epochs ?? recipe.StudentEpochs,
            TeacherEpochs = o.TeacherEpochs ?? o.Epochs ?? recipe.TeacherEpochs,
            StudentLearningRate = o.LearningRate ?? recipe.StudentLearningRate,
            TeacherLearningRate = o.TeacherLearningRate ?? o.LearningRate ?? recipe.TeacherLearningRate,
            AbsoluteWeight = o.AbsoluteWeight ?? recipe.AbsoluteWeight,
            RelativeWeight = o.RelativeWeight ?? recipe.RelativeWeight,
            RkdWeights = o.RkdWeights ?? recipe.RkdWeights,
            DistilledMetricWeights = metricWeights,
        };
    }

    /// <summary>The networks without ImageNet weights: "teacher" unless --teacher-weights is given or the teacher is imagenet-resnet18, and each student without a file.</summary>
    /// <remarks>A trained teacher from --teacher-checkpoint does not count: it is written by the first session, so counting it would change the recipe on --resume.</remarks>
    private static List<string> MissingWeights(PaperPipelineOptions o, IReadOnlyList<string> students)
    {
        var missing = new List<string>();
        if (o.TeacherWeights is null && o.Teacher != ImageNetTeacherOption.Name) missing.Add("teacher");
        for (int j = 0; j < students.Count; j++)
            if (o.StudentWeights is not { } sw || j >= sw.Count || sw[j] is null) missing.Add(students[j]);
        return missing;
    }

    /// <summary>The networks without weights that the scratch recipe trains (the paper's list when those all have weights).</summary>
    private static List<string> Named(List<string> missingForPaper, PaperPipelineOptions o, TrainingRecipe scratch)
    {
        var missing = MissingWeights(o, o.Students ?? scratch.Students);
        return missing.Count > 0 ? missing : missingForPaper;
    }

    /// <summary>A learning rate as people write it: 0.001, 0.01, 1e-5.</summary>
    internal static string Rate(double v) =>
        v is > 0 and < 1e-3 ? v.ToString("0.##E+0", CultureInfo.InvariantCulture).Replace("E+", "e", StringComparison.Ordinal).Replace("E", "e", StringComparison.Ordinal)
            : v.ToString("G3", CultureInfo.InvariantCulture);
}
