using EmbeddingDistillation.Samples.CommandLine;
using Spectre.Console.Cli;
using TorchSharp;

namespace EmbeddingDistillation.Samples.PaperPipelines;

/// <summary>The paper pipelines' command: validated settings in, the pipeline run, charts and the report table out.</summary>
internal sealed class PaperCommand : Command<PaperSettings>
{
    public static readonly SampleAppInfo Info = new("PaperPipelines",
        "The experiments of \"Learning Metrics from Teachers\" on CUB-200-2011, Cars-196 and Stanford Online Products: " +
        "teacher, distilled students, Recall@K, report folder (docs/paper.md). Every image is checked before any training. " +
        "Exit codes: 0 success, 1 failure during the run (e.g. a corrupt image), 2 refused command line (nothing was run), 130 cancelled.")
    {
        RequiresArguments = true,
        Examples =
        [
            ["--dataset", "cub", "--root", "data/CUB_200_2011", "--teacher-weights", "resnet101-63fe2227.pth"],
            ["--dataset", "cub", "--root", "data/CUB_200_2011", "--report", "cub-report", "--resume"],
            ["--make-synthetic-cub", "synthetic-cub", "--synthetic-classes", "200", "--synthetic-images-per-class", "30", "--synthetic-size", "64", "--seed", "1"],
        ],
    };

    public override int Execute(CommandContext context, PaperSettings settings, CancellationToken cancellationToken)
    {
        if (settings.MakeSyntheticCub is not null) return SyntheticCubMaker.Run(settings, Console.Out);
        var options = settings.ToOptions();
        torch.set_num_threads(options.Threads ?? Environment.ProcessorCount);
        var pipeline = new PaperPipeline(options, Console.Out, ConsoleProgress.Runner);
        PaperPipelineResult result;
        try
        {
            result = pipeline.Run(cancellationToken);
        }
        catch (OperationCanceledException e) when (cancellationToken.IsCancellationRequested)
        {
            Console.Error.WriteLine($"Stopped.{SampleApp.CancellationDetail(e)} Finished runs are kept in {options.Report}; rerun the same command with --resume " +
                "to continue (finished runs are reloaded; --resume turns checkpoints on).");
            return ExitCodes.Cancelled;
        }
        var curves = result.Runs.Where(r => r.Training is not null).Select(r => (r.Name, r.Training!)).ToArray();
        if (curves.Length > 0) Charts.TrainingCurves(Path.Combine(result.ReportFolder, "training-loss.png"), curves);
        Charts.RecallAtK(Path.Combine(result.ReportFolder, "recall-at-k.png"),
            result.Results.Select(r => r with { RecallAtK = pipeline.RecallKs.ToDictionary(k => k, k => r.RecallAtK[k]) }).ToArray());
        Console.WriteLine(File.ReadAllText(Path.Combine(result.ReportFolder, "results.md")));
        Console.WriteLine($"Charts: {Path.Combine(result.ReportFolder, "training-loss.png")}, {Path.Combine(result.ReportFolder, "recall-at-k.png")}");
        return ExitCodes.Success;
    }
}
