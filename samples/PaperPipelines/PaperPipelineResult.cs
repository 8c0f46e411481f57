using EmbeddingDistillation.Evaluation;
using EmbeddingDistillation.Training;
using EmbeddingDistillation.Vision;

namespace EmbeddingDistillation.Samples.PaperPipelines;

/// <summary>One trained (or loaded) model of a pipeline run and its evaluation.</summary>
/// <param name="Name">Run name, e.g. <c>mobilenetv1-0.25-relative</c>.</param>
/// <param name="Training">The training result; null when the model was loaded (a saved teacher).</param>
/// <param name="LabelledSteps">Optimisation steps on labelled batches.</param>
/// <param name="UnlabelledSteps">Optimisation steps on unlabelled batches (semi-supervised runs).</param>
/// <param name="Result">The evaluation row of results.csv.</param>
/// <param name="TestSet">The test set it was evaluated on (the degraded one for cross-quality students).</param>
public sealed record PaperRun(string Name, TrainingResult? Training, int LabelledSteps, int UnlabelledSteps, ModelResult Result, string TestSet);

/// <summary>What <see cref="PaperPipeline.Run"/> produced.</summary>
/// <param name="ReportFolder">The report folder (results.csv, results.md, summary.txt).</param>
/// <param name="Split">The split actually used (after <c>--max-classes</c>/<c>--max-images-per-class</c>).</param>
/// <param name="Runs">Teacher first, then every student run.</param>
/// <param name="Warnings">Warnings printed during the run (e.g. training from scratch).</param>
public sealed record PaperPipelineResult(string ReportFolder, DatasetSplit Split, IReadOnlyList<PaperRun> Runs, IReadOnlyList<string> Warnings)
{
    /// <summary>The rows of results.csv.</summary>
    public IReadOnlyList<ModelResult> Results => Runs.Select(r => r.Result).ToArray();
}
