using EmbeddingDistillation.Evaluation;
using EmbeddingDistillation.Samples.CommandLine;
using EmbeddingDistillation.Samples.PaperPipelines;

namespace EmbeddingDistillation.Tests.Pipelines;

/// <summary>The paper pipelines' command line, parsed and validated as the sample does (Spectre.Console.Cli settings).</summary>
public sealed class PaperArgumentsTests : IDisposable
{
    /// <summary>An existing folder: --root must exist to pass validation.</summary>
    private readonly string _root = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "ed-paper-args-" + Guid.NewGuid().ToString("N"))).FullName;

    internal static PaperPipelineOptions Parse(params string[] args) => SampleApp.Parse<PaperSettings>(args).ToOptions();

    [Theory]
    [InlineData(new[] { "--root", "ROOT" }, "Missing --dataset")]
    [InlineData(new[] { "--dataset", "mnist", "--root", "ROOT" }, "Option --dataset: 'mnist' is not a benchmark; use cub, cars or sop")]
    [InlineData(new[] { "--dataset", "cub" }, "Missing --root")]
    [InlineData(new[] { "--dataset", "cub", "--root", "ROOT/nope" }, "Option --root: folder 'ROOT/nope' does not exist")]
    [InlineData(new[] { "--dataset", "cub", "--root" }, "Option --root needs a value")]
    [InlineData(new[] { "--dataset", "cub", "--root", "ROOT", "--epochs", "ten" }, "Option --epochs needs an integer, got 'ten'")]
    [InlineData(new[] { "--dataset", "cub", "--root", "ROOT", "--epochs", "0" }, "Option --epochs must be >= 1, got 0")]
    [InlineData(new[] { "--dataset", "cub", "--root", "ROOT", "--bogus", "1" }, "Unknown option '--bogus'")]
    [InlineData(new[] { "--dataset", "cub", "--root", "ROOT", "--methods", "baseline,fitnet" }, "unknown term 'fitnet'")]
    [InlineData(new[] { "--dataset", "cub", "--root", "ROOT", "--methods", "relative,relative" }, "--methods lists a method twice")]
    [InlineData(new[] { "--dataset", "cub", "--root", "ROOT", "--sop-queries", "10000" }, "--sop-queries applies to --dataset sop only")]
    [InlineData(new[] { "--dataset", "cub", "--root", "ROOT", "--feature-taps", "layer3" }, "teacherTap:studentTap")]
    [InlineData(new[] { "--dataset", "cub", "--root", "ROOT", "--unlabelled", "ROOT", "--methods", "baseline" }, "--unlabelled needs a distillation method")]
    [InlineData(new[] { "--dataset", "cub", "--root", "ROOT", "--lr", "-1" }, "Option --lr must be a finite number > 0, got -1")]
    [InlineData(new[] { "--dataset", "cub", "--root", "ROOT", "--lq-jpeg", "101" }, "Option --lq-jpeg must be in [1, 100] or none, got '101'")]
    [InlineData(new[] { "--dataset", "cub", "--root", "ROOT", "--seed", "1", "--seed", "2" }, "Option --seed is given twice ('1' and '2')")]
    [InlineData(new[] { "--dataset", "cub", "--root", "ROOT", "--teacher", "resnet999" }, "Option --teacher: Unknown network name 'resnet999'")]
    [InlineData(new[] { "--dataset", "cub", "--root", "ROOT", "--student", "mobilenetv1-0.25,vgg16" }, "Option --student: Unknown network name 'vgg16'")]
    [InlineData(new[] { "--dataset", "cub", "--root", "ROOT", "--device", "tpu" }, "Option --device: Device 'tpu' is not valid")]
    [InlineData(new[] { "--dataset", "cub", "--root", "ROOT", "--teacher-weights", "ROOT/none.pth" }, "Option --teacher-weights: file 'ROOT/none.pth' does not exist")]
    [InlineData(new[] { "--dataset", "cub", "--root", "ROOT", "--small-stem", "maybe" }, "Option --small-stem: 'maybe' is not one of")]
    [InlineData(new[] { "--dataset", "cub", "--root", "ROOT", "--resume", "--overwrite" }, "--resume and --overwrite contradict")]
    [InlineData(new[] { "cub" }, "Unexpected argument 'cub'")]
    [InlineData(new[] { "--dataset", "cub", "--root", "ROOT", "--recipe", "fast" }, "Option --recipe: 'fast' is not one of auto, paper, scratch")]
    [InlineData(new[] { "--dataset", "cub", "--root", "ROOT", "--teacher-lr", "0" }, "Option --teacher-lr must be a finite number > 0, got 0")]
    [InlineData(new[] { "--dataset", "cub", "--root", "ROOT", "--distilled-metric-weights", "baseline=1" }, "Option --distilled-metric-weights: 'baseline=1' is not a comma list of method=weight")]
    [InlineData(new[] { "--dataset", "cub", "--root", "ROOT", "--distilled-metric-weights", "absolute=-1" }, "Option --distilled-metric-weights: 'absolute=-1'")]
    [InlineData(new[] { "--dataset", "cub", "--root", "ROOT", "--synthetic-size", "64" }, "apply to --make-synthetic-cub only")]
    [InlineData(new[] { "--make-synthetic-cub", "ROOT/new", "--dataset", "cub" }, "Option --make-synthetic-cub writes a dataset and exits")]
    [InlineData(new[] { "--make-synthetic-cub", "ROOT/new", "--synthetic-classes", "201" }, "Option --synthetic-classes must be in [2, 200], got 201")]
    [InlineData(new[] { "--make-synthetic-cub", "ROOT/new", "--synthetic-size", "4" }, "Option --synthetic-size must be in [8, 1024], got 4")]
    public void ErrorsNameTheOptionAndTheValue(string[] args, string expected)
    {
        args = args.Select(a => a.Replace("ROOT", _root, StringComparison.Ordinal)).ToArray();
        var e = Assert.Throws<UsageException>(() => Parse(args));
        Assert.Contains(expected.Replace("ROOT", _root, StringComparison.Ordinal), e.Message);
    }

    [Fact]
    public void DefaultsAreThePaperPresets()
    {
        var o = Parse("--dataset", "cars", "--root", _root);
        Assert.Equal(PaperDataset.Cars, o.Dataset);
        Assert.Equal(RecipeChoice.Auto, o.Recipe);
        Assert.Equal(RecipeChoice.Scratch, Parse("--dataset", "cars", "--root", _root, "--recipe", "Scratch").Recipe);
        Assert.Null(o.ImageSize);
        Assert.Equal(["baseline", "absolute", "relative"], o.Methods);
        Assert.False(o.CrossQuality);
        Assert.Equal((false, false, false), (o.Resume, o.Overwrite, o.SkipCorruptImages));
        Assert.Equal("paper-report", o.Report);
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
        string weights = Path.Combine(_root, "a.pth");
        File.WriteAllText(weights, "");
        var o = Parse(
            "--dataset=sop", "--root", _root, "--sop-queries", "10000", "--student", "mobilenetv1-0.25, resnet18",
            "--student-weights", $"{weights},{weights}", "--methods", "relative+attention,hint", "--cross-quality", "--lq-jpeg", "none",
            "--small-stem", "off", "--lr", "1e-6", "--checkpoints", "--feature-taps", "layer3:stage4", "--unlabelled-ratio", "0.5",
            "--skip-corrupt-images", "--resume", "--threads", "1");
        Assert.Equal(PaperDataset.Sop, o.Dataset);
        Assert.Equal(10000, o.SopQueries);
        Assert.Equal(["mobilenetv1-0.25", "resnet18"], o.Students);
        Assert.Equal([weights, weights], o.StudentWeights);
        Assert.Equal(["relative+attention", "hint"], o.Methods);
        Assert.True(o.CrossQuality);
        Assert.True(o.Checkpoints);
        Assert.False(Parse("--dataset", "cub", "--root", _root).Checkpoints);
        Assert.Null(o.LowQuality.JpegQuality);
        Assert.False(o.SmallStem);
        Assert.Equal(1e-6, o.LearningRate);
        Assert.Equal("layer3:stage4", o.FeatureTaps);
        Assert.Equal(0.5, o.UnlabelledRatio);
        Assert.Equal((true, true, 1), (o.SkipCorruptImages, o.Resume, o.Threads));
    }

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }
}
