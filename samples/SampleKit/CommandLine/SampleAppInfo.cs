namespace EmbeddingDistillation.Samples.CommandLine;

/// <summary>What a sample's help shows about it.</summary>
/// <param name="Name">The program name, e.g. <c>Quickstart</c>.</param>
/// <param name="Description">One paragraph: what it does (the exit codes are appended).</param>
public sealed record SampleAppInfo(string Name, string Description)
{
    /// <summary>True when a bare command line cannot run (the paper pipeline needs --dataset and --root): print the usage and exit 2.</summary>
    public bool RequiresArguments { get; init; }

    /// <summary>Example command lines shown by --help.</summary>
    public IReadOnlyList<string[]> Examples { get; init; } = [];

    /// <summary>
    /// Other names of options, e.g. <c>--k</c> for <c>--top-k</c>: names that scripts use but Spectre.Console.Cli
    /// cannot declare (long names need two letters or more).
    /// </summary>
    public IReadOnlyDictionary<string, string> Aliases { get; init; } = new Dictionary<string, string>();

    /// <summary>The command line with every alias replaced by its option's declared name (<c>--k 3</c>, <c>--k=3</c>).</summary>
    public string[] ResolveAliases(IReadOnlyList<string> args) => args.Select(a =>
    {
        int eq = a.IndexOf('=', StringComparison.Ordinal);
        string name = eq > 0 ? a[..eq] : a;
        return Aliases.TryGetValue(name, out var declared) ? declared + a[name.Length..] : a;
    }).ToArray();
}
