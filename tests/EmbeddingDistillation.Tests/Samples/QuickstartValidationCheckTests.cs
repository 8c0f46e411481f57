using EmbeddingDistillation.Samples;
using EmbeddingDistillation.Samples.Quickstart;

namespace EmbeddingDistillation.Tests.Samples;

/// <summary>
/// The quickstart names every distilled student that its run's validation classes rank below the baseline: a warning
/// when the gap is more than twice the standard error of a difference of two recalls on the validation queries, a note
/// that the validation classes cannot tell them apart otherwise.
/// </summary>
public sealed class QuickstartValidationCheckTests
{
    private static TrainedStudent Student(string name, ModelRole role, double? validation) => new(name, role, null!, validation);

    [Fact]
    public void OnlyStudentsBelowTheBaselineOnValidationAreNamedWithBothScores()
    {
        var findings = QuickstartReport.BelowBaselineOnValidation([
            Student("student-baseline", ModelRole.Baseline, 0.784),
            Student("student-absolute", ModelRole.Distilled, 0.80),
            Student("student-relative", ModelRole.Distilled, 0.644),
            Student("student-rkd", ModelRole.Distilled, 0.784),
            Student("student-unscored", ModelRole.Distilled, null),
        ], validationQueries: 500).ToList();

        var finding = Assert.Single(findings);
        Assert.True(finding.IsWarning);
        Assert.StartsWith("student-relative scored below the baseline on the validation classes", finding.Message);
        Assert.Contains("64.4% against 78.4%, 14.0 points below", finding.Message);
        Assert.Contains("on this data the method does not help", finding.Message);
    }

    [Fact]
    public void AGapWithinTheValidationNoiseIsANoteNotAWarning()
    {
        // The default run's seed 7: relative 0.2 points and absolute + relative 2.6 points below the baseline on 500
        // validation queries (standard error of the difference about 2.1 points); both led it on test.
        var findings = QuickstartReport.BelowBaselineOnValidation([
            Student("student-baseline", ModelRole.Baseline, 0.886),
            Student("student-relative", ModelRole.Distilled, 0.884),
            Student("student-absolute+relative", ModelRole.Distilled, 0.860),
        ], validationQueries: 500).ToList();

        Assert.Equal(2, findings.Count);
        Assert.All(findings, f => Assert.False(f.IsWarning));
        Assert.All(findings, f => Assert.Contains("within twice the 2.", f.Message));
        Assert.All(findings, f => Assert.Contains("on 500 validation queries: the validation classes cannot tell the two apart", f.Message));
        // The same gap on ten times the queries is more than twice the (smaller) standard error.
        Assert.True(QuickstartReport.BelowBaselineOnValidation([
            Student("student-baseline", ModelRole.Baseline, 0.886),
            Student("student-absolute+relative", ModelRole.Distilled, 0.860),
        ], validationQueries: 5000).Single().IsWarning);
    }

    [Fact]
    public void WithoutABaselineThereIsNothingToCompare()
    {
        Assert.Empty(QuickstartReport.BelowBaselineOnValidation([Student("student-relative", ModelRole.Distilled, 0.1)], 500));
        Assert.Empty(QuickstartReport.BelowBaselineOnValidation([Student("student-baseline", ModelRole.Baseline, null), Student("student-relative", ModelRole.Distilled, 0.1)], 500));
        Assert.Throws<ArgumentOutOfRangeException>(() => QuickstartReport.BelowBaselineOnValidation([], 0).ToList());
    }
}
