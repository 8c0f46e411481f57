using EmbeddingDistillation.Samples.CommandLine;
using Spectre.Console;
using Spectre.Console.Cli;

namespace EmbeddingDistillation.Samples.Quickstart;

/// <summary>The quickstart's command: validated settings in, a report folder out.</summary>
internal sealed class QuickstartCommand : Command<QuickstartSettings>
{
    public static readonly SampleAppInfo Info = new("Quickstart",
        "Teacher -> baseline student -> distilled students on the embedded synthetic dataset, evaluated on held-out " +
        "classes, with a report folder (docs/quickstart.md). Exit codes: 0 success, 1 failure during the run, " +
        "2 refused command line (nothing was run), 130 cancelled.")
    {
        Examples = [["--fast"], ["--fast", "--report", "my-report"], ["--report", "my-report", "--resume"]],
    };

    public override int Execute(CommandContext context, QuickstartSettings settings, CancellationToken cancellationToken)
    {
        var options = settings.Resolve();
        try
        {
            if (options.Calibrate) return new Calibration.QuickstartCalibration(options).Execute(cancellationToken);
            if (options.Seeds.Count > 0) return new QuickstartSeeds(options).Execute(cancellationToken);
            return new QuickstartRun(options).Execute(cancellationToken);
        }
        catch (OperationCanceledException e) when (cancellationToken.IsCancellationRequested)
        {
            AnsiConsole.MarkupLine(Markup.Escape(
                $"Stopped.{SampleApp.CancellationDetail(e)} Finished runs and checkpoints are kept in {options.Report}; rerun the same command " +
                "with --resume to continue (finished runs are reloaded, the interrupted one continues from its last checkpoint)."));
            return ExitCodes.Cancelled;
        }
    }
}
