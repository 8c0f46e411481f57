namespace EmbeddingDistillation.Samples.CommandLine;

/// <summary>
/// The exit codes of every sample (docs/command-line.md): scripts can tell a bad command line, which retrying
/// cannot fix, from a failure found during the run and from an interruption.
/// </summary>
public static class ExitCodes
{
    /// <summary>The run finished and wrote its outputs.</summary>
    public const int Success = 0;

    /// <summary>The run started and failed, e.g. a damaged data or weights file found during the run.</summary>
    public const int RuntimeFailure = 1;

    /// <summary>
    /// The command line was refused before any work started: an unknown option, a bad or missing value, conflicting
    /// options, or an output the run would overwrite without being asked to.
    /// </summary>
    public const int UsageError = 2;

    /// <summary>Cancelled with Ctrl+C (128 + SIGINT, as shells report it).</summary>
    public const int Cancelled = 130;
}
