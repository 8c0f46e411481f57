using EmbeddingDistillation.Evaluation;
using EmbeddingDistillation.Samples.PaperPipelines;

namespace EmbeddingDistillation.Tests.Pipelines;

public class PaperArgumentsTests
{
    [Theory]
    [InlineData(new string[0], "Missing --dataset")]
    [InlineData(new[] { "--dataset", "mnist", "--root", "x" }, "Unknown --dataset 'mnist': use cub, cars or sop")]
    [InlineData(new[] { "--dataset", "cub" }, "Missing --root")]
    [InlineData(new[] { "--dataset", "cub", "--root" }, "Option --root needs a value")]
    [InlineData(new[] { "--dataset", "cub", "--root", "x", "--epochs", "ten" }, "Option --epochs needs an integer, got 'ten'")]
    [InlineData(new[] { "--dataset", "cub", "--root", "x", "--epochs", "0" }, "Option --epochs must be >= 1, got 0")]
    [InlineData(new[] { "--dataset", "cub", "--root", "x", "--bogus", "1" }, "Unknown option '--bogus'")]
    [InlineData(new[] { "--dataset", "cub", "--root", "x", "--methods", "baseline,fitnet" }, "Unknown term 'fitnet'")]
    [InlineData(new[] { "--dataset", "cub", "--root", "x", "--sop-queries", "10000" }, "--sop-queries applies to --dataset sop only")]
    [InlineData(new[] { "--dataset", "cub", "--root", "x", "--feature-taps", "layer3" }, "teacherTap:studentTap")]
    [InlineData(new[] { "--dataset", "cub", "--root", "x", "--unlabelled", "u", "--methods", "baseline" }, "--unlabelled needs a distillation method")]
    [InlineData(new[] { "--dataset", "cub", "--root", "x", "--lr", "-1" }, "Option --lr must be > 0")]
    [InlineData(new[] { "--dataset", "cub", "--root", "x", "--lq-jpeg", "101" }, "Option --lq-jpeg must be in [1, 100], got 101")]
    [InlineData(new[] { "--dataset", "cub", "--root", "x", "--seed", "1", "--seed", "2" }, "Option --seed is given twice")]
    [InlineData(new[] { "cub" }, "Unexpected argument 'cub'")]
    public void ErrorsNameTheOption(string[] args, string expected)
    {
        var e = Assert.Throws<PaperArgumentException>(() => PaperPipelineArguments.Parse(args));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void DefaultsAreThePaperPresets()
    {
        var o = PaperPipelineArguments.Parse(["--dataset", "cars", "--root", "/data/cars"]);
        Assert.Equal(PaperDataset.Cars, o.Dataset);
        Assert.Null(o.ImageSize);
        Assert.Equal(["baseline", "absolute", "relative"], o.Methods);
        Assert.False(o.CrossQuality);
        var cub = PaperPreset.Cub;
        Assert.Equal((1.0, 0.3, 1e-5), (cub.AbsoluteWeight, cub.RelativeWeight, cub.LearningRate));
        Assert.Equal((1.5, 0.1), (PaperPreset.Cars.AbsoluteWeight, PaperPreset.Cars.RelativeWeight));
        Assert.Equal((2.0, 1.0), (PaperPreset.Sop.AbsoluteWeight, PaperPreset.Sop.RelativeWeight));
        Assert.Equal(RecallPresets.CubCars, cub.RecallKs);
        Assert.Equal(RecallPresets.Sop, PaperPreset.Sop.RecallKs);
        Assert.Equal((4, 8, 2e-4, 224, 512, "resnet101"), (cub.ClassesPerBatch, cub.ImagesPerClass, cub.WeightDecay, cub.ImageSize, cub.EmbeddingDimension, cub.Teacher));
        Assert.Equal(["mobilenetv1-0.25", "resnet18"], cub.Students);
    }

    [Fact]
    public void ParsesEveryKindOfValue()
    {
        var o = PaperPipelineArguments.Parse(
        [
            "--dataset=sop", "--root", "/d", "--sop-queries", "10000", "--student", "mobilenetv1-0.25, resnet18",
            "--student-weights", "a.pth,b.pth", "--methods", "relative+attention,hint", "--cross-quality", "--lq-jpeg", "none",
            "--small-stem", "off", "--lr", "1e-6", "--checkpoints", "--feature-taps", "layer3:stage4", "--unlabelled-ratio", "0.5",
        ]);
        Assert.Equal(PaperDataset.Sop, o.Dataset);
        Assert.Equal(10000, o.SopQueries);
        Assert.Equal(["mobilenetv1-0.25", "resnet18"], o.Students);
        Assert.Equal(["a.pth", "b.pth"], o.StudentWeights);
        Assert.Equal(["relative+attention", "hint"], o.Methods);
        Assert.True(o.CrossQuality);
        Assert.True(o.Checkpoints);
        Assert.False(PaperPipelineArguments.Parse(["--dataset", "cub", "--root", "r"]).Checkpoints);
        Assert.Null(o.LowQuality.JpegQuality);
        Assert.False(o.SmallStem);
        Assert.Equal(1e-6, o.LearningRate);
        Assert.Equal("layer3:stage4", o.FeatureTaps);
        Assert.Equal(0.5, o.UnlabelledRatio);
        Assert.True(PaperPipelineArguments.WantsHelp(["--dataset", "cub", "--help"]));
    }
}
