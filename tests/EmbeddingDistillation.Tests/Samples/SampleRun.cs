using EmbeddingDistillation.Samples.CommandLine;
using Spectre.Console.Cli;

namespace EmbeddingDistillation.Tests.Samples;

/// <summary>Runs a sample's command in-process, as its Program.cs does, and captures what it prints.</summary>
internal static class SampleRun
{
    public static (int ExitCode, string Output, string Error) Run<TCommand>(SampleAppInfo info, params string[] args)
        where TCommand : class, ICommand
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = SampleApp.Run<TCommand>(args, info, SampleConsole.ToWriters(output, error));
        return (code, output.ToString(), error.ToString());
    }

    /// <summary>A path in the temp folder that does not exist yet.</summary>
    public static string NewPath(string prefix) => Path.Combine(Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}");
}
