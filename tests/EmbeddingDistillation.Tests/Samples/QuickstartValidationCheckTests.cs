using EmbeddingDistillation.Samples;
using EmbeddingDistillation.Samples.Quickstart;

namespace EmbeddingDistillation.Tests.Samples;

/// <summary>The quickstart warns about every distilled student that its run's validation classes rank below the baseline.</summary>
public sealed class QuickstartValidationCheckTests
{
    private static TrainedStudent Student(string name, ModelRole role, double? validation) => new(name, role, null!, validation);

    [Fact]
    public void OnlyStudentsBelowTheBaselineOnValidationAreNamedWithBothScores()
    {
        var warnings = QuickstartReport.BelowBaselineOnValidation([
            Student("student-baseline", ModelRole.Baseline, 0.784),
            Student("student-absolute", ModelRole.Distilled, 0.80),
            Student("student-relative", ModelRole.Distilled, 0.644),
            Student("student-rkd", ModelRole.Distilled, 0.784),
            Student("student-unscored", ModelRole.Distilled, null),
        ]).ToList();

        var warning = Assert.Single(warnings);
        Assert.StartsWith("student-relative scored below the baseline on the validation classes", warning);
        Assert.Contains("64.4% against 78.4%", warning);
    }

    [Fact]
    public void WithoutABaselineThereIsNothingToCompare()
    {
        Assert.Empty(QuickstartReport.BelowBaselineOnValidation([Student("student-relative", ModelRole.Distilled, 0.1)]));
        Assert.Empty(QuickstartReport.BelowBaselineOnValidation([Student("student-baseline", ModelRole.Baseline, null), Student("student-relative", ModelRole.Distilled, 0.1)]));
    }
}
