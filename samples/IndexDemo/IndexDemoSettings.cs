using System.ComponentModel;
using System.Globalization;
using EmbeddingDistillation.Samples.CommandLine;
using Spectre.Console;
using Spectre.Console.Cli;

namespace EmbeddingDistillation.Samples.IndexDemo;

/// <summary>The index demo's command line, checked before any data is generated or any network trained.</summary>
internal sealed class IndexDemoSettings : CommandSettings
{
    /// <summary>Test classes of the demo's dataset (100 classes, the second half unseen): at most one query each.</summary>
    public const int TestClasses = 50;

    /// <summary>The largest --bench index, in float32 values (1 GiB), so that a typo cannot exhaust the memory.</summary>
    public const long MaxBenchValues = 1L << 28;

    [CommandOption("--weights <PATH>")]
    [Description("Network checkpoint (NetworkCheckpoint format); without it a tiny network is trained briefly")]
    public string? Weights { get; init; }

    [CommandOption("--network <NAME>")]
    [Description("Architecture of the checkpoint or of the trained network")]
    [DefaultValue("mobilenetv1-0.25")]
    public string Network { get; init; } = "mobilenetv1-0.25";

    [CommandOption("--embedding-dim <N>")]
    [Description("Embedding dimension, 1-4096")]
    [DefaultValue(64)]
    public int EmbeddingDimension { get; init; } = 64;

    [CommandOption("--small-stem")]
    [Description("Small-input stem (32-48 px images); implied when training here")]
    public bool SmallStem { get; init; }

    [CommandOption("--steps <N>")]
    [Description("Training steps when no weights are given (0: an untrained network)")]
    [DefaultValue(200)]
    public int Steps { get; init; } = 200;

    [CommandOption("--queries <N>")]
    [Description("Query rows in the grid, 1-50 (one per test class)")]
    [DefaultValue(6)]
    public int Queries { get; init; } = 6;

    // Spectre.Console.Cli needs long names of two letters or more: "--k", the original name, is an alias (see Info).
    [CommandOption("--top-k <N>")]
    [Description("Results per query, 1-100 (also --k)")]
    [DefaultValue(6)]
    public int K { get; init; } = 6;

    [CommandOption("--metric <NAME>")]
    [Description("euclidean or cosine")]
    [DefaultValue("euclidean")]
    public string Metric { get; init; } = "euclidean";

    [CommandOption("--seed <N>")]
    [Description("Seed of the query choice and of training")]
    [DefaultValue(0)]
    public int Seed { get; init; }

    [CommandOption("--out <PATH>")]
    [Description("PNG grid to write (an existing file needs --force)")]
    [DefaultValue("index-grid.png")]
    public string Out { get; init; } = "index-grid.png";

    [CommandOption("--index <PATH>")]
    [Description("Index file to write (default: next to the PNG, .edidx; an existing file needs --force)")]
    public string? IndexPath { get; init; }

    [CommandOption("--force")]
    [Description("Overwrite an existing --out PNG and --index file")]
    public bool Force { get; init; }

    [CommandOption("--threads <N>")]
    [Description("Torch threads (default: the processor count)")]
    public int? Threads { get; init; }

    [CommandOption("--bench <N,D>")]
    [Description("Instead: time search on a random N x D index (e.g. 20000,512) and exit")]
    public string? Bench { get; init; }

    /// <summary>The index file: <c>--index</c>, or the PNG's path with <c>.edidx</c>.</summary>
    public string IndexFile => IndexPath ?? Path.ChangeExtension(Out, ".edidx");

    /// <summary>The parsed <c>--bench N,D</c>, or null.</summary>
    public (int N, int D)? BenchSize => Bench is null ? null : ParseBench(Bench, out _);

    public override ValidationResult Validate()
    {
        var check = new OptionChecks()
            .FileExists("--weights", Weights)
            .Network("--network", Network)
            .InRange("--embedding-dim", EmbeddingDimension, 1, 4096)
            .AtLeast("--steps", Steps, 0)
            .InRange("--queries", Queries, 1, TestClasses)
            .InRange("--top-k", K, 1, 100)
            .OneOf("--metric", Metric.ToLowerInvariant(), ["euclidean", "cosine"])
            .AtLeast("--threads", Threads, 1);
        if (Bench is not null)
        {
            if (ParseBench(Bench, out var error) is null) check.Fail(error!);
            return check.Result();
        }
        CheckOutput(check, "--out", Out);
        CheckOutput(check, IndexPath is null ? "--index (default: --out with .edidx)" : "--index", IndexFile);
        check.Require(Path.GetFullPath(Out) != Path.GetFullPath(IndexFile), $"Options --out and --index name the same file '{Out}'.");
        return check.Result();
    }

    /// <summary>An output file: its folder must exist, and an existing file is replaced only with --force.</summary>
    private void CheckOutput(OptionChecks check, string option, string path)
    {
        var folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        if (!Directory.Exists(folder)) check.Fail($"Option {option}: the folder of '{path}' does not exist.");
        else if (Directory.Exists(path)) check.Fail($"Option {option}: '{path}' is a folder; give a file name.");
        else if (File.Exists(path) && !Force) check.Fail($"Option {option}: '{path}' already exists; pass --force to overwrite it, or give another path.");
    }

    private static (int N, int D)? ParseBench(string text, out string? error)
    {
        error = null;
        var parts = text.Split(',');
        if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var n)
            || !int.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var d))
            error = $"Option --bench needs N,D (two integers, e.g. 20000,512), got '{text}'.";
        else if (n < 10 || d < 1)
            error = $"Option --bench needs N >= 10 (the searches ask for 10 neighbours) and D >= 1, got '{text}'.";
        else if ((long)n * d > MaxBenchValues)
            error = $"Option --bench {text} needs {(long)n * d * 4 / 1e9:F1} GB for the index; the limit is N x D <= {MaxBenchValues:N0} (1 GiB).";
        else return (n, d);
        return null;
    }
}
