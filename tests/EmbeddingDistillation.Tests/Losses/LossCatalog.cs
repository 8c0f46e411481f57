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
        "triplet-hard", "triplet-semihard", "triplet-all", "contrastive", "multi-similarity", "proxy-anchor",
    };

    public static IEnumerable<object[]> DistillationNames() => Distillation.Select(n => new object[] { n });
    public static IEnumerable<object[]> MapNames() => Maps.Select(n => new object[] { n });
    public static IEnumerable<object[]> MetricNames() => Metric.Select(n => new object[] { n });

    /// <summary>Dimension of the teacher for a distillation loss (relational losses get a different one on purpose).</summary>
    public static int TeacherDim(string name, int d) => name is "absolute" or "absolute-squared" ? d : d + 2;

    public static nn.Module<Tensor, Tensor, Tensor> Create(string name, int d, ScalarType dtype)
    {
        nn.Module<Tensor, Tensor, Tensor> loss = name switch
        {
            "absolute" => new AbsoluteTeacherLoss(),
            "absolute-squared" => new AbsoluteTeacherLoss(new AbsoluteTeacherLossOptions { Squared = true }),
            "absolute-projection" => new AbsoluteTeacherLoss(new AbsoluteTeacherLossOptions { StudentDimension = d, TeacherDimension = d + 2 }),
            "relative" => new RelativeTeacherLoss(),
            "relative-rms" => new RelativeTeacherLoss(new RelativeTeacherLossOptions { Reduction = RelativeReduction.RootMeanSquare }),
            "relative-squared-meanabs" => new RelativeTeacherLoss(new RelativeTeacherLossOptions { Distance = RelativeDistance.SquaredEuclidean, Reduction = RelativeReduction.MeanAbsolute }),
            "relative-cosine-meansq" => new RelativeTeacherLoss(new RelativeTeacherLossOptions { Distance = RelativeDistance.Cosine, Reduction = RelativeReduction.MeanSquared }),
            "rkd-distance" => new RkdDistanceLoss(),
            "rkd-angle" => new RkdAngleLoss(),
            "relaxed-contrastive" => new RelaxedContrastiveLoss(),
            "attention" => new AttentionTransferLoss(),
            "hint" => new HintLoss(3, 5),
            "hint-bn" => new HintLoss(3, 5, new HintLossOptions { BatchNorm = true }),
            "triplet-hard" => new TripletLoss(0.2),
            "triplet-semihard" => new TripletLoss(0.5, TripletMining.SemiHard),
            "triplet-all" => new TripletLoss(0.2, TripletMining.BatchAll),
            "contrastive" => new ContrastiveLoss(0.1, 1.5),
            "multi-similarity" => new MultiSimilarityLoss(new MultiSimilarityLossOptions { Lambda = 0.5 }),
            "proxy-anchor" => new ProxyAnchorLoss(4, d),
            _ => throw new ArgumentException(name),
        };
        loss.to(dtype);
        return loss;
    }
}
