using System.Globalization;
using System.Text.Json;
using EmbeddingDistillation.Samples.CommandLine;

namespace EmbeddingDistillation.Samples.Runs;

/// <summary>
/// The settings a report folder was made with, by option name, stored as <c>run-settings.json</c> so that
/// <c>--resume</c> can refuse a command whose results would not be the ones of the interrupted run.
/// </summary>
public sealed class RunSettings
{
    /// <summary>The file in the report folder.</summary>
    public const string FileName = "run-settings.json";

    /// <summary>The sample that wrote the report (a report of another sample is never resumed).</summary>
    public string Sample { get; init; } = "";

    /// <summary>Options that change the results (seed, data, networks, losses, schedules), as invariant text.</summary>
    public Dictionary<string, string> Results { get; init; } = [];

    /// <summary>
    /// Options that change only the last bits of the results (threads, device): a resume with other values runs,
    /// with a warning, because a bit-identical table needs the same machine and thread count.
    /// </summary>
    public Dictionary<string, string> Environment { get; init; } = [];

    /// <summary>Adds a result-affecting option (null values are stored as "(none)").</summary>
    public RunSettings With(string option, object? value)
    {
        Results[option] = Text(value);
        return this;
    }

    /// <summary>Adds an environment option.</summary>
    public RunSettings WithEnvironment(string option, object? value)
    {
        Environment[option] = Text(value);
        return this;
    }

    /// <summary>Checks that <paramref name="now"/> may resume a report made with these settings; returns warnings.</summary>
    /// <exception cref="UsageException">A result-affecting option differs: every such option is named with both values.</exception>
    public IReadOnlyList<string> CheckResume(RunSettings now, string folder)
    {
        if (Sample != now.Sample)
            throw new UsageException($"--resume: '{folder}' is a report of {Show(Sample)}, not of {now.Sample}; use another --report.");
        var differences = Differences(Results, now.Results).ToArray();
        if (differences.Length > 0)
            throw new UsageException(
                $"--resume: the report '{folder}' was made with other result-affecting options, so resuming it would not give the results of either command:" +
                string.Concat(differences.Select(d => System.Environment.NewLine + "  " + d)) + System.Environment.NewLine +
                "Rerun with the report's values to resume it, or give another --report (or --overwrite) to start a new run.");
        return Differences(Environment, now.Environment)
            .Select(d => $"warning: {d}; the results will be valid but not bit-identical to an uninterrupted run.").ToArray();
    }

    /// <summary>Reads <c>run-settings.json</c> of <paramref name="folder"/>, or null when there is none.</summary>
    /// <exception cref="UsageException">The file exists but is not readable as settings.</exception>
    public static RunSettings? Read(string folder)
    {
        var path = Path.Combine(folder, FileName);
        if (!File.Exists(path)) return null;
        try
        {
            return JsonSerializer.Deserialize<RunSettings>(File.ReadAllText(path)) ?? throw new JsonException("empty");
        }
        catch (JsonException e)
        {
            throw new UsageException($"--resume: '{path}' is damaged ({e.Message}); use another --report, or --overwrite to start again.");
        }
    }

    /// <summary>Writes <c>run-settings.json</c> into <paramref name="folder"/> atomically.</summary>
    public void Write(string folder) =>
        AtomicText.Write(Path.Combine(folder, FileName), JsonSerializer.Serialize(this, new JsonSerializerOptions { WriteIndented = true }));

    private static IEnumerable<string> Differences(Dictionary<string, string> before, Dictionary<string, string> now)
    {
        foreach (var key in before.Keys.Union(now.Keys).Order(StringComparer.Ordinal))
        {
            var a = before.GetValueOrDefault(key);
            var b = now.GetValueOrDefault(key);
            if (a != b) yield return $"{key}: {Show(a)} in the report, {Show(b)} now";
        }
    }

    private static string Show(string? value) => value is null ? "(not recorded)" : $"'{value}'";

    private static string Text(object? value) => value switch
    {
        null => "(none)",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        System.Collections.IEnumerable list and not string => string.Join(",", list.Cast<object?>().Select(Text)),
        _ => value.ToString() ?? "",
    };
}
