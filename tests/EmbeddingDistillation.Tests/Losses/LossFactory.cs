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
