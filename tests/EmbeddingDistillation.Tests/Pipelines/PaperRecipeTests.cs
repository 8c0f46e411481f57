using EmbeddingDistillation.Losses;
using EmbeddingDistillation.Samples.PaperPipelines;
using EmbeddingDistillation.Training;
using Xunit.Abstractions;

namespace EmbeddingDistillation.Tests.Pipelines;

/// <summary><c>--recipe paper|scratch|auto</c>: which recipe runs, why, and how explicit options override it.</summary>
public sealed class PaperRecipeTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _root = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "ed-recipe-" + Guid.NewGuid().ToString("N"))).FullName;

    private string Weights(string name)
    {
        string path = Path.Combine(_root, name);
        File.WriteAllText(path, "");
        return path;
    }

    private PaperRunPlan Plan(params string[] args) =>
        PaperRunPlan.Resolve(PaperArgumentsTests.Parse(["--dataset", "cub", "--root", _root, .. args]), PaperPreset.Cub);

    [Fact]
    public void AutoTrainsFromScratchWithTheScratchRecipeAndItsSizesWhenWeightsAreMissing()
    {
        var plan = Plan();
        Assert.Same(ScratchRecipe.Recipe, plan.Recipe);
        Assert.StartsWith("recipe scratch (--recipe auto): no ImageNet weights for teacher, mobilenetv1-0.25;", plan.Reason, StringComparison.Ordinal);
        Assert.Contains("collapses from scratch", plan.Reason);
        Assert.Equal((64, "resnet18", 16, 128), (plan.ImageSize, plan.Teacher, plan.BaseWidth, plan.EmbeddingDimension));
        Assert.Equal(["mobilenetv1-0.25"], plan.Students);
        Assert.Equal(["64 px crops", "teacher resnet18", "ResNet base width 16", "student mobilenetv1-0.25", "128-d embeddings"], plan.DefaultedSizes);

        // Weights for the teacher only: the students still train from scratch, so the scratch recipe runs.
        var teacherOnly = Plan("--teacher-weights", Weights("t.pth"));
        Assert.Equal("scratch", teacherOnly.Recipe.Name);
        Assert.Contains("no ImageNet weights for mobilenetv1-0.25;", teacherOnly.Reason);
    }

    [Fact]
    public void AutoRunsThePaperRecipeWhenTheTeacherAndEveryStudentHaveWeights()
    {
        var plan = Plan("--teacher-weights", Weights("t.pth"), "--student-weights", $"{Weights("m.pth")},{Weights("r.pth")}");
        Assert.Equal("paper", plan.Recipe.Name);
        Assert.Equal("recipe paper (--recipe auto): ImageNet weights are given for the teacher and every student", plan.Reason);
        Assert.Equal((224, "resnet101", 64, 512), (plan.ImageSize, plan.Teacher, plan.BaseWidth, plan.EmbeddingDimension));
        Assert.Equal(["mobilenetv1-0.25", "resnet18"], plan.Students);
        Assert.Equal((1e-5, 1e-5, 2000, 2000), (plan.TeacherLearningRate, plan.StudentLearningRate, plan.TeacherEpochs, plan.StudentEpochs));
        Assert.Equal(("triplet", "triplet", OptimizerKind.Adam, RelativeReduction.Frobenius), (plan.Recipe.TeacherLoss, plan.Recipe.StudentLoss, plan.Recipe.Optimizer, plan.Recipe.RelativeReduction));
        Assert.Equal((1.0, 0.3), (plan.AbsoluteWeight, plan.RelativeWeight));

        // One named student with its weights is "every student" too.
        Assert.Equal("paper", Plan("--teacher-weights", Weights("t.pth"), "--student", "resnet18", "--student-weights", Weights("r.pth")).Recipe.Name);
    }

    [Fact]
    public void AnExplicitRecipeIsKeptWhateverTheWeights()
    {
        Assert.Equal("recipe paper (--recipe paper): the authors' hyperparameters", Plan("--recipe", "paper").Reason);
        var scratch = Plan("--recipe", "scratch", "--teacher-weights", Weights("t.pth"), "--student-weights", $"{Weights("m.pth")},{Weights("r.pth")}");
        Assert.Equal("scratch", scratch.Recipe.Name);
        Assert.StartsWith("recipe scratch (--recipe scratch):", scratch.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void ScratchRecipeHoldsTheCarriedOverChoices()
    {
        var r = ScratchRecipe.Recipe;
        Assert.Equal((OptimizerKind.AdamW, 1e-4, LearningRateSchedule.Cosine, true, 100.0), (r.Optimizer, r.WeightDecay, r.Schedule, r.WarmUpOneEpoch, r.ProxyLearningRateMultiplier));
        Assert.Equal((8, 8, EpochLength.FullPass, TeacherView.Clean, RelativeReduction.RootMeanSquare),
            (r.ClassesPerBatch, r.ImagesPerClass, r.EpochLength, r.TeacherView, r.RelativeReduction));
        Assert.Equal((ScratchRecipe.TeacherLoss, ScratchRecipe.StudentLoss), (r.TeacherLoss, r.StudentLoss));
        Assert.Equal((ScratchRecipe.TeacherLearningRate, ScratchRecipe.StudentLearningRate), (r.TeacherLearningRate, r.StudentLearningRate));
        Assert.Equal((ScratchRecipe.TeacherEpochs, ScratchRecipe.StudentEpochs), (r.TeacherEpochs, r.StudentEpochs));
        Assert.Equal((ScratchRecipe.AbsoluteWeight, ScratchRecipe.RelativeWeight), (r.AbsoluteWeight, r.RelativeWeight));
        Assert.Contains(r.TeacherLoss, LossCatalog.MetricLossNames);
        Assert.Contains(r.StudentLoss, LossCatalog.MetricLossNames);
    }

    [Fact]
    public void ExplicitOptionsOverrideTheRecipe()
    {
        var plan = Plan("--recipe", "scratch", "--lr", "0.005", "--epochs", "7", "--lambda-relative", "2", "--image-size", "48",
            "--student", "resnet18", "--distilled-metric-weights", "absolute=0,absolute+relative=0.5");
        Assert.Equal((0.005, 0.005), (plan.TeacherLearningRate, plan.StudentLearningRate));
        Assert.Equal((7, 7), (plan.TeacherEpochs, plan.StudentEpochs));
        Assert.Equal((ScratchRecipe.AbsoluteWeight, 2.0), (plan.AbsoluteWeight, plan.RelativeWeight));
        Assert.Equal((48, "resnet18"), (plan.ImageSize, plan.Students.Single()));
        Assert.Equal(["teacher resnet18", "ResNet base width 16", "128-d embeddings"], plan.DefaultedSizes);
        Assert.Equal((0.0, 0.5, 1.0), (plan.MetricWeightOf("absolute"), plan.MetricWeightOf("absolute+relative"), plan.MetricWeightOf("relative")));

        var teacherOwn = Plan("--recipe", "scratch", "--teacher-lr", "0.002", "--teacher-epochs", "3");
        Assert.Equal((0.002, ScratchRecipe.StudentLearningRate), (teacherOwn.TeacherLearningRate, teacherOwn.StudentLearningRate));
        Assert.Equal((3, ScratchRecipe.StudentEpochs), (teacherOwn.TeacherEpochs, teacherOwn.StudentEpochs));
    }

    [Fact]
    public void ScratchRunTrainsTheRecipesLossesAndSaysWhichRecipeRunsAndWhy()
    {
        using var f = new PaperFixture();
        var log = new StringWriter();
        var result = new PaperPipeline(PaperArgumentsTests.Parse(PaperPipelineTests.TinyArgs(f, f.Report, "--methods", "baseline,absolute,relative",
            "--distilled-metric-weights", "absolute=0.5")), log).Run();
        string text = log.ToString();
        output.WriteLine(text);

        Assert.Contains("recipe scratch (--recipe auto): no ImageNet weights for teacher, mobilenetv1-0.25;", text);
        Assert.DoesNotContain("WARNING: no ImageNet weights", text);   // the recipe line says it; the warning is the paper recipe's
        Assert.DoesNotContain("Sizes from the scratch recipe", text);  // the tiny command gives every size
        Assert.Contains("batches 4 x 8 (the recipe's P = 8, but only 4 training classes)", text);
        Assert.Contains("AdamW lr teacher 0.001, students 0.01", text);
        Assert.Contains("the teacher sees the clean view", text);
        Assert.Contains("0.5 * multi-similarity + 5 * absolute", text);
        Assert.Contains("relative (per pair", text);
        Assert.Contains("Training: recipe scratch (--recipe auto)", File.ReadAllText(Path.Combine(f.Report, "results.md")));

        var expected = new Dictionary<string, string[]>
        {
            ["teacher-resnet18-16"] = ["proxy-anchor"], ["mobilenetv1-0.25-16-baseline"] = ["multi-similarity"],
            ["mobilenetv1-0.25-16-absolute"] = ["multi-similarity", "absolute"], ["mobilenetv1-0.25-16-relative"] = ["multi-similarity", "relative"],
        };
        Assert.Equal(expected.Keys, result.Runs.Select(r => r.Name));
        foreach (var run in result.Runs)
        {
            Assert.Equal(expected[run.Name], run.Training!.History[0].Terms.Keys);
            Assert.Equal(4, run.Training.Steps);   // --epochs 2 x --batches-per-epoch 2 override the recipe's
        }
    }

    public void Dispose()
    {
        try { Directory.Delete(_root, true); } catch (IOException) { }
    }
}
