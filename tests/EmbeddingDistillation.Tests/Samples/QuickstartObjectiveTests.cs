using EmbeddingDistillation.Losses;
using EmbeddingDistillation.Networks;
using EmbeddingDistillation.Samples.Quickstart;

namespace EmbeddingDistillation.Tests.Samples;

/// <summary>
/// The students' objectives: the relative term weighs <c>--lambda-relative</c> when it trains alone and
/// <c>--lambda-relative-combined</c> inside absolute+relative (calibrated apart; both 1 by default).
/// </summary>
public class QuickstartObjectiveTests
{
    [Fact]
    public void TheRelativeTermHasItsOwnWeightInsideTheCombination()
    {
        var o = new QuickstartOptions { Classes = 12, ImagesPerClass = 4, ValidationClasses = 2, ClassesPerBatch = 3, ImagesPerClassInBatch = 2, LambdaAbsolute = 5, LambdaRelative = 1.5, LambdaRelativeCombined = 12 };
        var setup = QuickstartSetup.Create(o);
        using var teacher = EmbeddingNetworks.Create("mobilenetv1-0.25", 8);
        var alone = setup.StudentObjective("relative", teacher);
        var relative = Assert.Single(alone.DistillationTerms);
        Assert.IsType<RelativeTeacherLoss>(relative.Loss);
        Assert.Equal(1.5, relative.Weight);
        var combined = setup.StudentObjective("absolute+relative", teacher).DistillationTerms;
        Assert.Equal(2, combined.Count);
        Assert.Equal(5, Assert.Single(combined, t => t.Loss is AbsoluteTeacherLoss).Weight);
        Assert.Equal(12, Assert.Single(combined, t => t.Loss is RelativeTeacherLoss).Weight);
    }

    [Fact]
    public void DefaultsAreTheCalibratedOnes()
    {
        var o = new QuickstartOptions();
        Assert.Equal(1.0, o.LambdaRelative);
        Assert.Equal(1.0, o.LambdaRelativeCombined);
        Assert.Equal(["absolute", "relative", "absolute+relative"], o.Distill);
    }

    /// <summary>
    /// A calibration sets the losses, rates, budget, warm-up, averaging, lambdas and metric weights of every cell itself,
    /// so their defaults do not reach it: a calibration folder stays resumable after the defaults become its choice.
    /// </summary>
    [Fact]
    public void TheCalibrationsResumeCheckIgnoresTheDefaultsItCalibrates()
    {
        var before = new QuickstartOptions { Calibrate = true, CalibrationSeeds = [1, 5], StudentEpochs = 45, StudentWeightAverage = 0, LambdaRelativeCombined = 10, LambdaAbsolute = 3, StudentLearningRate = 0.01 };
        var after = new QuickstartOptions { Calibrate = true, CalibrationSeeds = [1, 5] };
        Assert.Empty(before.RunSettings().CheckResume(after.RunSettings(), "calibration"));
        // The dataset is not calibrated: it still counts, and so do the options of an ordinary run.
        Assert.ThrowsAny<Exception>(() => before.RunSettings().CheckResume((after with { Classes = 90 }).RunSettings(), "calibration"));
        Assert.ThrowsAny<Exception>(() => (before with { Calibrate = false }).RunSettings().CheckResume((after with { Calibrate = false }).RunSettings(), "run"));
    }

    /// <summary>
    /// The command line's defaults are exactly what the committed calibration chose (docs/quickstart-calibration/chosen.json):
    /// a default changed without calibrating, or a calibration committed without its defaults, fails here.
    /// </summary>
    [Fact]
    public void CommandLineDefaultsEqualTheCommittedCalibrationsChoice()
    {
        string? path = null;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null && path is null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "docs", "quickstart-calibration", "chosen.json");
            if (File.Exists(candidate)) path = candidate;
        }
        Assert.True(path is not null, "docs/quickstart-calibration/chosen.json not found above " + AppContext.BaseDirectory);
        var chosen = System.Text.Json.JsonDocument.Parse(File.ReadAllText(path!)).RootElement.GetProperty("commandLine").GetString()!;
        var defaults = new QuickstartSettings().Resolve();
        Assert.Equal(chosen, EmbeddingDistillation.Samples.Quickstart.Calibration.QuickstartCalibration.CommandLine(defaults));
    }
}
