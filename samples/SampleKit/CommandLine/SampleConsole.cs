using Spectre.Console;

namespace EmbeddingDistillation.Samples.CommandLine;

/// <summary>Where a sample's help and errors go, and which token cancels it.</summary>
/// <param name="Out">Spectre's console for help and version text.</param>
/// <param name="Error">Error lines (stderr).</param>
/// <param name="Cancellation">The cancellation token; null: Ctrl+C cancels.</param>
public sealed record SampleConsole(IAnsiConsole Out, TextWriter Error, CancellationToken? Cancellation)
{
    /// <summary>The process console; Ctrl+C cancels.</summary>
    public static SampleConsole Process() => new(AnsiConsole.Console, Console.Error, null);

    /// <summary>Plain-text writers (tests), cancelled by <paramref name="cancellation"/>.</summary>
    public static SampleConsole ToWriters(TextWriter output, TextWriter error, CancellationToken cancellation = default) =>
        new(AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors, Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(output),
        }), error, cancellation);
}
