using EmbeddingDistillation.Evaluation;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Tests.Evaluation;

public class CollapseCheckTests
{
    private static Tensor Labels(int classes, int perClass) => tensor(Enumerable.Range(0, classes * perClass).Select(i => (long)(i / perClass)).ToArray());

    [Fact]
    public void ChanceIsTheProbabilityThatARandomOtherSampleSharesTheClass()
    {
        Assert.Equal(4.0 / 49, CollapseCheck.ChanceOf(Labels(10, 5)), 12);
        // Unbalanced: two queries of a pair (1/3 each), three of a triple (2/3 each): (2/4 * 1 ... ) computed by hand.
        var labels = tensor(new long[] { 0, 0, 1, 1, 1 });
        Assert.Equal((2 * 0.25 + 3 * 0.5) / 5, CollapseCheck.ChanceOf(labels), 12);
    }

    [Fact]
    public void SpreadIsAboutOneForRandomUnitVectorsAndZeroWhenEverythingCoincides()
    {
        using var scope = NewDisposeScope();
        var random = nn.functional.normalize(randn(new long[] { 500, 128 }, generator: new Generator(1)), dim: 1);
        Assert.InRange(CollapseCheck.SpreadOf(random), 0.95, 1.05);
        var same = ones(200, 16) * 3;
        Assert.Equal(0.0, CollapseCheck.SpreadOf(same), 6);
        var nearlySame = ones(200, 16) + 1e-3 * randn(new long[] { 200, 16 }, generator: new Generator(2));
        Assert.True(CollapseCheck.SpreadOf(nearlySame) < CollapseCheck.CollapsedSpread);
        // The row budget subsamples evenly and still measures the same thing.
        Assert.InRange(CollapseCheck.SpreadOf(random, maxRows: 50), 0.9, 1.1);
    }

    [Fact]
    public void WarningNamesTheRunAndTheMeasuredValues()
    {
        var healthy = new CollapseCheck(RecallAtOne: 0.45, ChanceRecallAtOne: 0.02, Spread: 0.8);
        Assert.False(healthy.Collapsed);
        Assert.Null(healthy.Warning("teacher", "validation classes"));

        var nearChance = new CollapseCheck(0.03, 0.02, 0.8);
        Assert.True(nearChance.NearChance);
        var w = nearChance.Warning("teacher resnet18", "validation classes");
        Assert.NotNull(w);
        Assert.StartsWith("WARNING: run 'teacher resnet18'", w);
        Assert.Contains("Recall@1 0.03", w);
        Assert.Contains("chance (0.02)", w);

        var collapsed = new CollapseCheck(0.5, 0.02, 0.01);
        Assert.True(collapsed.SpreadCollapsed);
        Assert.Contains("spread 0.01", collapsed.Warning("x", "test classes"));
        Assert.True(new CollapseCheck(0.5, 0.02, double.NaN).SpreadCollapsed);
    }

    [Fact]
    public void MetricsOfTheValidatorGiveTheCheck()
    {
        Assert.Null(CollapseCheck.FromMetrics(new Dictionary<string, double> { ["recall@1"] = 0.5 }));
        var check = CollapseCheck.FromMetrics(new Dictionary<string, double> { ["recall@1"] = 0.5, ["chance@1"] = 0.1, ["spread"] = 0.9 });
        Assert.NotNull(check);
        Assert.Equal((0.5, 0.1, 0.9), (check.RecallAtOne, check.ChanceRecallAtOne, check.Spread));
    }
}
