using EmbeddingDistillation.Samples;
using EmbeddingDistillation.Samples.Quickstart;
using Spectre.Console;

// The README's main command: teacher -> baseline student -> distilled students on the embedded synthetic dataset,
// evaluated on held-out classes, with a report folder. See docs/quickstart.md.
QuickstartOptions options;
try
{
    options = QuickstartOptions.Parse(args);
}
catch (HelpRequested)
{
    Console.WriteLine(QuickstartOptions.Usage);
    return 0;
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    Console.Error.WriteLine(QuickstartOptions.Usage);
    return 2;
}

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // First Ctrl+C: stop after the current step, leaving valid checkpoints. Second: the default hard stop.
    if (cancel.IsCancellationRequested) return;
    e.Cancel = true;
    cancel.Cancel();
    AnsiConsole.MarkupLine("[yellow]Stopping after the current step (checkpoints stay valid; rerun with --resume)...[/]");
};

try
{
    var outcome = new QuickstartRun(options).Execute(cancel.Token);
    return outcome;
}
catch (OperationCanceledException)
{
    AnsiConsole.MarkupLine("[yellow]Cancelled.[/]");
    return 130;
}
