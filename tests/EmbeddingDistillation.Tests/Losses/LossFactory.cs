using EmbeddingDistillation.Losses;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Tests.Losses;

/// <summary>Builds the C# loss matching a reference case's options, with the case's initial parameters copied in.</summary>
public static class LossFactory
{
    public static nn.Module<Tensor, Tensor, Tensor> Create(ReferenceCase c) => c.Loss switch
    {
        "absolute" => Absolute(c),
        "relative" => new RelativeTeacherLoss(new RelativeTeacherLossOptions
        {
            Distance = c.OptionText("distance") switch
            {
                "euclidean" => RelativeDistance.Euclidean,
                "squared" => RelativeDistance.SquaredEuclidean,
                _ => RelativeDistance.Cosine,
            },
            Reduction = c.OptionText("reduction") switch
            {
                "frobenius" => RelativeReduction.Frobenius,
                "mean_abs" => RelativeReduction.MeanAbsolute,
                _ => RelativeReduction.MeanSquared,
            },
        }),
        "triplet" => new TripletLoss(c.Option("margin", 0), c.OptionText("mining") switch
        {
            "batch_hard" => TripletMining.BatchHard,
            "semi_hard" => TripletMining.SemiHard,
            _ => TripletMining.BatchAll,
        }),
        "rkd_distance" => new RkdDistanceLoss(),
        "rkd_angle" => new RkdAngleLoss(),
        "relaxed_contrastive" => new RelaxedContrastiveLoss(new RelaxedContrastiveLossOptions
        {
            Sigma = c.Option("sigma", 1),
            Delta = c.Option("delta", 1),
            NormaliseByRowMean = c.Option("row_mean", 1) != 0,
        }),
        "contrastive" => new ContrastiveLoss(new ContrastiveLossOptions { PositiveMargin = c.Option("pos_margin", 0), NegativeMargin = c.Option("neg_margin", 1), Squared = c.Option("squared", 1) != 0 }),
        "multi_similarity" => new MultiSimilarityLoss(new MultiSimilarityLossOptions
        {
            Alpha = c.Option("alpha", 2),
            Beta = c.Option("beta", 50),
            Lambda = c.Option("lam", 1),
            Epsilon = c.Option("eps", 0.1),
        }),
        "proxy_anchor" => ProxyAnchor(c),
        "attention" => new AttentionTransferLoss(),
        "hint" => Hint(c),
        _ => throw new NotSupportedException(c.Loss),
    };

    private static AbsoluteTeacherLoss Absolute(ReferenceCase c)
    {
        var d = (int)c.Option("d", 0);
        if (!c.Flag("projection"))
            return new AbsoluteTeacherLoss(new AbsoluteTeacherLossOptions { Squared = c.Flag("squared") });
        var loss = new AbsoluteTeacherLoss(new AbsoluteTeacherLossOptions { StudentDimension = d, TeacherDimension = d + 3 });
        loss.to(ScalarType.Float64);
        CopyParameters(loss.Projection!, c);
        return loss;
    }

    private static ProxyAnchorLoss ProxyAnchor(ReferenceCase c)
    {
        var loss = new ProxyAnchorLoss(new ProxyAnchorLossOptions { ClassCount = (int)c.Option("classes", 0), EmbeddingDimension = (int)c.Option("d", 0) });
        loss.to(ScalarType.Float64);
        using var _ = torch.no_grad();
        using var init = ReferenceFixture.ToTensor(c.Inputs.GetProperty("proxies"));
        loss.Proxies.copy_(init);
        return loss;
    }

    private static HintLoss Hint(ReferenceCase c)
    {
        var loss = new HintLoss(3, 5, new HintLossOptions { BatchNorm = c.Flag("batch_norm") });
        loss.to(ScalarType.Float64);
        CopyParameters(loss.Regressor, c);
        return loss;
    }

    /// <summary>Copies the fixture's "weight" and "bias" into the module's parameters of the same names.</summary>
    public static void CopyParameters(nn.Module module, ReferenceCase c)
    {
        using var _ = torch.no_grad();
        foreach (var (name, p) in module.named_parameters())
        {
            if (!c.Params.TryGetProperty(name, out var value)) continue;
            using var v = ReferenceFixture.ToTensor(value, p.dtype);
            p.copy_(v);
        }
    }
}
