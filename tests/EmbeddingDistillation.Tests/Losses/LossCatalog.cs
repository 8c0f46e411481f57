using EmbeddingDistillation.Losses;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Tests.Losses;

/// <summary>Every loss of the library by a short name, with a small input of the right kind, for the generic tests.</summary>
public static class LossCatalog
{
    public static readonly string[] Distillation =
    {
        "absolute", "absolute-squared", "absolute-projection", "relative", "relative-rms", "relative-squared-meanabs", "relative-cosine-meansq",
        "rkd-distance", "rkd-angle", "relaxed-contrastive",
    };

    public static readonly string[] Maps = { "attention", "hint", "hint-bn" };

    public static readonly string[] Metric =
    {
        "triplet-hard", "triplet-semihard", "triplet-all", "contrastive", "contrastive-linear", "multi-similarity", "proxy-anchor",
    };

    public static IEnumerable<object[]> DistillationNames() => Distillation.Select(n => new object[] { n });
    public static IEnumerable<object[]> MapNames() => Maps.Select(n => new object[] { n });
    public static IEnumerable<object[]> MetricNames() => Metric.Select(n => new object[] { n });

    /// <summary>Dimension of the teacher for a distillation loss (relational losses get a different one on purpose).</summary>
    public static int TeacherDim(string name, int d) => name is "absolute" or "absolute-squared" ? d : d + 2;

    /// <summary>Builds the test variant <paramref name="name"/> through the library's <see cref="EmbeddingDistillation.Losses.LossCatalog"/>.</summary>
    public static nn.Module<Tensor, Tensor, Tensor> Create(string name, int d, ScalarType dtype)
    {
        var context = new LossContext { ClassCount = 4, EmbeddingDimension = d, StudentChannels = 3, TeacherChannels = 5 };
        object loss = name switch
        {
            "absolute" => Term("absolute"),
            "absolute-squared" => Term("absolute", new AbsoluteTeacherLossOptions { Squared = true }),
            "absolute-projection" => Term("absolute", new AbsoluteTeacherLossOptions { StudentDimension = d, TeacherDimension = d + 2 }),
            "relative" => Term("relative"),
            "relative-rms" => Term("relative", new RelativeTeacherLossOptions { Reduction = RelativeReduction.RootMeanSquare }),
            "relative-squared-meanabs" => Term("relative", new RelativeTeacherLossOptions { Distance = RelativeDistance.SquaredEuclidean, Reduction = RelativeReduction.MeanAbsolute }),
            "relative-cosine-meansq" => Term("relative", new RelativeTeacherLossOptions { Distance = RelativeDistance.Cosine, Reduction = RelativeReduction.MeanSquared }),
            "rkd-distance" => Term("rkd-distance"),
            "rkd-angle" => Term("rkd-angle"),
            "relaxed-contrastive" => Term("relaxed-contrastive"),
            "attention" => Term("attention"),
            "hint" => Term("hint"),
            "hint-bn" => Term("hint", new HintLossOptions { BatchNorm = true }),
            "triplet-hard" => Metric("triplet", new TripletLossOptions { Margin = 0.2 }),
            "triplet-semihard" => Metric("triplet", new TripletLossOptions { Margin = 0.5, Mining = TripletMining.SemiHard }),
            "triplet-all" => Metric("triplet", new TripletLossOptions { Margin = 0.2, Mining = TripletMining.BatchAll }),
            "contrastive" => Metric("contrastive", new ContrastiveLossOptions { PositiveMargin = 0.1, NegativeMargin = 1.5 }),
            "contrastive-linear" => Metric("contrastive", new ContrastiveLossOptions { PositiveMargin = 0.1, NegativeMargin = 1.5, Squared = false }),
            "multi-similarity" => Metric("multi-similarity", new MultiSimilarityLossOptions { Lambda = 0.5 }),
            "proxy-anchor" => Metric("proxy-anchor"),
            _ => throw new ArgumentException(name),
        };
        var module = (nn.Module<Tensor, Tensor, Tensor>)loss;
        module.to(dtype);
        return module;

        object Term(string n, object? options = null) => EmbeddingDistillation.Losses.LossCatalog.CreateDistillationTerm(n, context, options);
        object Metric(string n, object? options = null) => EmbeddingDistillation.Losses.LossCatalog.CreateMetricLoss(n, context, options);
    }
}
