using System.Globalization;
using System.Reflection;
using Spectre.Console;
using Spectre.Console.Cli;

namespace EmbeddingDistillation.Samples.CommandLine;

/// <summary>
/// Runs a sample's command with the conventions every sample shares (docs/command-line.md): Spectre.Console.Cli
/// parsing with <c>--help</c> and <c>--version</c>; every option checked before any work, with errors naming the
/// option and the value; exit codes from <see cref="ExitCodes"/>; no stack trace for a usage error; the first
/// Ctrl+C stops after the current step, a second one kills the process.
/// </summary>
public static class SampleApp
{
    /// <summary>Runs <typeparamref name="TCommand"/> on <paramref name="args"/> and returns the exit code.</summary>
    /// <param name="args">The command line.</param>
    /// <param name="info">Name and description for --help.</param>
    /// <param name="console">Where help and errors go and which token cancels; null: the process console and Ctrl+C.</param>
    public static int Run<TCommand>(IReadOnlyList<string> args, SampleAppInfo info, SampleConsole? console = null)
        where TCommand : class, ICommand
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(info);
        console ??= SampleConsole.Process();
        var declared = info.ResolveAliases(args);
        var aliasNote = string.Concat(args.Zip(declared).Where(p => p.First != p.Second)
            .Select(p => $" ({p.First.Split('=')[0]} is another name for {p.Second.Split('=')[0]}.)").Distinct());
        args = declared;
        using var ctrlC = console.Cancellation is null ? new CtrlCListener(console.Error) : null;
        var token = console.Cancellation ?? ctrlC!.Token;

        var app = new CommandApp<TCommand>().WithDescription(info.Description);
        app.Configure(c => Configure(c, info, console, typeof(TCommand).Assembly, aliasNote));
        if (args.Count == 0 && info.RequiresArguments)
        {
            app.Run(["--help"], token);
            return ExitCodes.UsageError;
        }
        try
        {
            OptionSyntax.Check(SettingsType(typeof(TCommand)), args);
        }
        catch (UsageException e)
        {
            return Refuse(e.Message + aliasNote, console.Error);
        }
        return app.Run(args, token);
    }

    /// <summary>
    /// Parses and validates <paramref name="args"/> into <typeparamref name="TSettings"/> exactly as
    /// <see cref="Run{TCommand}"/> does, without running anything (tests, and programs that drive a sample's code).
    /// </summary>
    /// <exception cref="UsageException">The command line is refused; the message names the option and the value.</exception>
    public static TSettings Parse<TSettings>(IReadOnlyList<string> args) where TSettings : CommandSettings
    {
        ArgumentNullException.ThrowIfNull(args);
        OptionSyntax.Check(typeof(TSettings), args);
        var holder = new SettingsHolder<TSettings>();
        var app = new CommandApp<CaptureSettings<TSettings>>().WithData(holder);
        var silent = SampleConsole.ToWriters(TextWriter.Null, TextWriter.Null);
        app.Configure(c =>
        {
            Configure(c, new SampleAppInfo(typeof(TSettings).Name, ""), silent, typeof(TSettings).Assembly, "");
            c.PropagateExceptions();
        });
        try
        {
            app.Run(args);
        }
        catch (CommandAppException e)
        {
            throw new UsageException(e.Message);
        }
        return holder.Value ?? throw new UsageException("Nothing to parse: --help and --version print text and run nothing.");
    }

    /// <summary>" " + the cancellation's own message when it says more than .NET's generic one, else "".</summary>
    public static string CancellationDetail(OperationCanceledException e) =>
        e.Message == new OperationCanceledException().Message ? "" : " " + e.Message;

    private static void Configure(IConfigurator c, SampleAppInfo info, SampleConsole console, Assembly assembly, string aliasNote)
    {
        c.SetApplicationName(info.Name);
        c.SetApplicationVersion(Version(assembly));
        c.ConfigureConsole(console.Out);
        c.Settings.Culture = CultureInfo.InvariantCulture;   // "1e-3" and "0.5" whatever the machine's locale
        c.Settings.StrictParsing = true;
        c.Settings.ShowOptionDefaultValues = true;
        c.Settings.CancellationExitCode = ExitCodes.Cancelled;
        foreach (var example in info.Examples) c.AddExample(example);
        c.SetExceptionHandler((e, _) => e switch
        {
            CommandAppException or UsageException => Refuse(e.Message + aliasNote, console.Error),
            OperationCanceledException => Cancelled(console.Error),
            _ => Fail(e, console.Error),
        });
    }

    private static int Refuse(string message, TextWriter error)
    {
        error.WriteLine($"error: {message}");
        error.WriteLine("Nothing was run; --help lists the options.");
        return ExitCodes.UsageError;
    }

    private static int Cancelled(TextWriter error)
    {
        error.WriteLine("Cancelled.");
        return ExitCodes.Cancelled;
    }

    private static int Fail(Exception e, TextWriter error)
    {
        // Data and file problems are the user's to fix and their messages name the file: no stack trace. Anything
        // else is a defect of the sample or the library: print everything a bug report needs.
        bool expected = e is IOException or InvalidDataException or UnauthorizedAccessException or InvalidOperationException or ArgumentException;
        error.WriteLine(expected ? $"error: {e.Message}" : $"error: unexpected {e}");
        return ExitCodes.RuntimeFailure;
    }

    private static string Version(Assembly assembly)
    {
        var version = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            ?? assembly.GetName().Version?.ToString() ?? "unknown";
        return $"{version} (EmbeddingDistillation {typeof(Networks.EmbeddingNetworks).Assembly.GetName().Version})";
    }

    private static Type SettingsType(Type command)
    {
        for (var t = command; t is not null; t = t.BaseType)
            if (t.IsGenericType && t.GetGenericTypeDefinition() == typeof(Command<>)) return t.GetGenericArguments()[0];
        throw new ArgumentException($"{command.Name} is not a Command<TSettings>.", nameof(command));
    }

    private sealed class SettingsHolder<TSettings>
    {
        public TSettings? Value { get; set; }
    }

    private sealed class CaptureSettings<TSettings> : Command<TSettings> where TSettings : CommandSettings
    {
        public override int Execute(CommandContext context, TSettings settings, CancellationToken cancellationToken)
        {
            ((SettingsHolder<TSettings>)context.Data!).Value = settings;
            return ExitCodes.Success;
        }
    }
}
