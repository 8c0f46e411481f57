using EmbeddingDistillation.Losses;
using EmbeddingDistillation.Networks;
using EmbeddingDistillation.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Tests.Losses;

/// <summary>The weighted objective and the interface's Compute (embeddings and named taps).</summary>
public class ObjectiveTests
{
    /// <summary>The objective computes from outputs: its teacher network is only a reference here.</summary>
    private static readonly IEmbeddingNetwork AnyTeacher = new EmbeddingDistillation.Tests.Training.TinyNetwork(48, 8, 4, seed: 1);

    [Fact]
    public void TotalIsStudentLossPlusWeightedTermsAndTermsAreReported()
    {
        using var scope = torch.NewDisposeScope();
        var s = torch.randn(8, 4, dtype: ScalarType.Float64).requires_grad_(true);
        var t = torch.randn(8, 6, dtype: ScalarType.Float64);
        var y = torch.arange(8) % 4;
        var triplet = new TripletLoss(0.1);
        var relative = new RelativeTeacherLoss();
        var rkd = new RkdDistanceLoss();
        var objective = TrainingObjective.Distillation(triplet, AnyTeacher,
            new WeightedDistillationTerm(relative, 0.3), new WeightedDistillationTerm(rkd, 2.0), new WeightedDistillationTerm(new RkdDistanceLoss(), 1.0));
        using var value = objective.Compute(new EmbeddingOutput(s), new EmbeddingOutput(t), y);
        var expected = triplet.forward(s, y).item<double>() + 0.3 * relative.forward(s, t).item<double>() + 3.0 * rkd.forward(s, t).item<double>();
        Assert.Equal(expected, value.Total.item<double>(), 10);
        Assert.Equal(new[] { "triplet", "relative", "rkd-distance", "rkd-distance#2" }, value.Terms.Keys.ToArray());
        Assert.Equal(relative.forward(s, t).item<double>(), value.Terms["relative"], 12);
        value.Total.backward();
        Assert.True(s.grad!.abs().sum().item<double>() > 0);
    }

    [Fact]
    public void UnlabelledRowsOnlyFeedTheDistillationTerms()
    {
        using var scope = torch.NewDisposeScope();
        var s = torch.randn(6, 4, dtype: ScalarType.Float64);
        var t = torch.randn(6, 4, dtype: ScalarType.Float64);
        var y = torch.tensor(new long[] { 0, 0, -1, 1, 1, -1 });
        var triplet = new TripletLoss(0.5);
        var objective = TrainingObjective.Distillation(triplet, AnyTeacher, new WeightedDistillationTerm(new AbsoluteTeacherLoss(), 1.0));
        using var value = objective.Compute(new EmbeddingOutput(s), new EmbeddingOutput(t), y);
        var idx = torch.tensor(new long[] { 0, 1, 3, 4 });
        Assert.Equal(triplet.forward(s.index_select(0, idx), y.index_select(0, idx)).item<double>(), value.Terms["triplet"], 12);
        // All unlabelled: the triplet term is skipped, the teacher term remains.
        using var v2 = objective.Compute(new EmbeddingOutput(s), new EmbeddingOutput(t), torch.full(6, -1L));
        Assert.False(v2.Terms.ContainsKey("triplet"));
        Assert.Equal(v2.Terms["absolute"], v2.Total.item<double>(), 12);
    }

    [Fact]
    public void ComputeReadsEmbeddingsAndNamedTaps()
    {
        using var scope = torch.NewDisposeScope();
        var sMap = torch.randn(2, 3, 4, 4);
        var tMap = torch.randn(2, 5, 4, 4);
        var sMap2 = torch.randn(2, 3, 2, 2);
        var tMap2 = torch.randn(2, 5, 4, 4);
        var student = new EmbeddingOutput(torch.randn(2, 4), new Dictionary<string, Tensor> { ["layer3"] = sMap, ["layer4"] = sMap2 });
        var teacher = new EmbeddingOutput(torch.randn(2, 4), new Dictionary<string, Tensor> { ["layer3"] = tMap, ["layer4"] = tMap2 });

        var at = new AttentionTransferLoss(new TapPair("layer3", "layer3", 2.0), new TapPair("layer4", "layer4"));
        var expected = 2 * at.forward(sMap, tMap).item<float>() + at.forward(sMap2, tMap2).item<float>();
        Assert.Equal(expected, at.Compute(student, teacher).item<float>(), 5);
        Assert.Equal(new[] { "layer3", "layer4" }, at.StudentTaps.ToArray());

        var hint = new HintLoss(3, 5, new HintLossOptions { Taps = new TapPair("layer3", "layer3") });
        Assert.Equal(hint.forward(sMap, tMap).item<float>(), hint.Compute(student, teacher).item<float>(), 6);
        Assert.Equal(2, hint.LearnableParameters().Count());

        var abs = new AbsoluteTeacherLoss();
        Assert.Equal(abs.forward(student.Embedding, teacher.Embedding).item<float>(), abs.Compute(student, teacher).item<float>(), 6);
        Assert.Empty(abs.LearnableParameters());

        var missing = new HintLoss(3, 5, new HintLossOptions { Taps = new TapPair("layer9", "layer3") });
        var e = Assert.Throws<KeyNotFoundException>(() => missing.Compute(student, teacher));
        Assert.Contains("layer9", e.Message);
        Assert.Throws<InvalidOperationException>(() => new AttentionTransferLoss().Compute(student, teacher));
    }

    [Fact]
    public void TeacherReceivesNoGradient()
    {
        using var scope = torch.NewDisposeScope();
        var s = torch.randn(6, 4).requires_grad_(true);
        var t = torch.randn(6, 4).requires_grad_(true);
        foreach (var name in LossCatalog.Distillation.Where(n => n != "absolute-projection"))
        {
            using var loss = LossCatalog.Create(name, 4, ScalarType.Float32);
            var tt = LossCatalog.TeacherDim(name, 4) == 4 ? t : torch.cat(new[] { t, t[.., ..2] }, 1);
            loss.forward(s, tt).backward();
        }
        Assert.Null(t.grad);
        Assert.NotNull(s.grad);
    }

    [Fact]
    public void ProjectionMapsStudentToTeacherDimensionAndIsLearnable()
    {
        using var scope = torch.NewDisposeScope();
        var loss = new AbsoluteTeacherLoss(new AbsoluteTeacherLossOptions { StudentDimension = 4, TeacherDimension = 8 });
        Assert.Equal(2, loss.LearnableParameters().Count());
        var v = loss.forward(torch.randn(3, 4), torch.randn(3, 8));
        v.backward();
        Assert.NotNull(loss.Projection!.weight!.grad);
        Assert.Throws<ArgumentException>(() => loss.forward(torch.randn(3, 5), torch.randn(3, 8)));
    }
}

public class RelativeRootMeanSquareTests
{
    [Theory]
    [InlineData(8)]
    [InlineData(64)]
    public void RootMeanSquareIsTheFrobeniusNormOverN(int n)
    {
        using var scope = torch.NewDisposeScope();
        var s = torch.randn(n, 16, dtype: ScalarType.Float64).requires_grad_(true);
        var t = torch.randn(n, 24, dtype: ScalarType.Float64);
        var rms = new RelativeTeacherLoss(new RelativeTeacherLossOptions { Reduction = RelativeReduction.RootMeanSquare }).forward(s, t);
        var frobenius = new RelativeTeacherLoss().forward(s, t);
        Assert.Equal(frobenius.item<double>() / n, rms.item<double>(), 12);
        var direct = (EmbeddingDistillation.Primitives.PairwiseDistances.Euclidean(s) - EmbeddingDistillation.Primitives.PairwiseDistances.Euclidean(t)).pow(2).mean().sqrt();
        Assert.Equal(direct.item<double>(), rms.item<double>(), 10);
    }
}

/// <summary>The public catalogue: every name builds its loss, options are type-checked, context values are required.</summary>
public class CatalogueTests
{
    [Fact]
    public void EveryNameBuildsTheLossItNames()
    {
        var context = new LossContext { ClassCount = 3, EmbeddingDimension = 8, StudentChannels = 4, TeacherChannels = 6, Taps = new TapPair("stage3", "layer3") };
        foreach (var name in EmbeddingDistillation.Losses.LossCatalog.MetricLossNames)
            Assert.Equal(name, EmbeddingDistillation.Losses.LossCatalog.CreateMetricLoss(name, context).Name);
        foreach (var name in EmbeddingDistillation.Losses.LossCatalog.DistillationTermNames)
            Assert.Equal(name, EmbeddingDistillation.Losses.LossCatalog.CreateDistillationTerm(name, context).Name);
        Assert.True(EmbeddingDistillation.Losses.LossCatalog.IsMetricLoss("Multi_Similarity"));
        Assert.False(EmbeddingDistillation.Losses.LossCatalog.IsMetricLoss("absolute"));
        var hint = (HintLoss)EmbeddingDistillation.Losses.LossCatalog.CreateDistillationTerm("hint", context);
        Assert.Equal((4, 6), (hint.StudentChannels, hint.TeacherChannels));
        Assert.Equal(["stage3"], hint.StudentTaps);
        var triplet = (TripletLoss)EmbeddingDistillation.Losses.LossCatalog.CreateMetricLoss("triplet", options: new TripletLossOptions { Margin = 0.3, Mining = TripletMining.SemiHard });
        Assert.Equal((0.3, TripletMining.SemiHard), (triplet.Margin, triplet.Mining));
    }

    [Fact]
    public void BadNamesOptionsAndMissingContextAreNamed()
    {
        var e1 = Assert.Throws<ArgumentException>(() => EmbeddingDistillation.Losses.LossCatalog.CreateMetricLoss("triplett"));
        Assert.Contains("triplett", e1.Message);
        Assert.Contains("multi-similarity", e1.Message);
        var e2 = Assert.Throws<ArgumentException>(() => EmbeddingDistillation.Losses.LossCatalog.CreateMetricLoss("triplet", options: new ContrastiveLossOptions()));
        Assert.Contains("TripletLossOptions", e2.Message);
        var e3 = Assert.Throws<ArgumentException>(() => EmbeddingDistillation.Losses.LossCatalog.CreateMetricLoss("proxy-anchor"));
        Assert.Contains("ClassCount", e3.Message);
        var e4 = Assert.Throws<ArgumentException>(() => EmbeddingDistillation.Losses.LossCatalog.CreateDistillationTerm("rkd-angle", options: new RelativeTeacherLossOptions()));
        Assert.Contains("no options", e4.Message);
    }
}
