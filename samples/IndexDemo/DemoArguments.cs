using System.Globalization;

namespace EmbeddingDistillation.Samples.IndexDemo;

/// <summary>Command line of the index demo (see <see cref="Usage"/>).</summary>
internal sealed record DemoArguments
{
    public const string Usage = """
        IndexDemo: build an exact embedding index of the synthetic test classes, query it, draw the results.

          --weights PATH        network checkpoint (NetworkCheckpoint format); without it a tiny network is trained briefly
          --network NAME        architecture of the checkpoint or of the trained network (default mobilenetv1-0.25)
          --embedding-dim N     embedding dimension (default 64)
          --small-stem          small-input stem (32-48 px images); implied when training here
          --steps N             training steps when no weights are given (default 200)
          --queries N           query rows in the grid (default 6)
          --k N                 results per query (default 6)
          --metric NAME         euclidean (default) or cosine
          --seed N              seed of the query choice and of training (default 0)
          --out PATH            PNG grid (default index-grid.png)
          --index PATH          where to save the index file (default: next to the PNG, .edidx)
          --threads N           torch threads (default: the processor count)
          --bench N,D           instead: time search on a random N x D index (e.g. 20000,512) and exit
        """;

    public string? Weights { get; init; }
    public string Network { get; init; } = "mobilenetv1-0.25";
    public int EmbeddingDimension { get; init; } = 64;
    public bool SmallStem { get; init; }
    public int Steps { get; init; } = 200;
    public int Queries { get; init; } = 6;
    public int K { get; init; } = 6;
    public string Metric { get; init; } = "euclidean";
    public int Seed { get; init; }
    public string Out { get; init; } = "index-grid.png";
    public string? IndexPath { get; init; }
    public (int N, int D)? Bench { get; init; }
    public int Threads { get; init; } = Environment.ProcessorCount;

    public static DemoArguments Parse(string[] args)
    {
        var a = new DemoArguments();
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.\n{Usage}");
            int Int() => int.Parse(Value(), CultureInfo.InvariantCulture);
            a = args[i] switch
            {
                "--weights" => a with { Weights = Value() },
                "--network" => a with { Network = Value() },
                "--embedding-dim" => a with { EmbeddingDimension = Int() },
                "--small-stem" => a with { SmallStem = true },
                "--steps" => a with { Steps = Int() },
                "--queries" => a with { Queries = Int() },
                "--k" => a with { K = Int() },
                "--metric" => a with { Metric = Value().ToLowerInvariant() },
                "--seed" => a with { Seed = Int() },
                "--out" => a with { Out = Value() },
                "--index" => a with { IndexPath = Value() },
                "--bench" => a with { Bench = ParsePair(Value()) },
                "--threads" => a with { Threads = Int() },
                "--help" or "-h" => throw new OperationCanceledException(Usage),
                var other => throw new ArgumentException($"Unknown option '{other}'.\n{Usage}"),
            };
        }
        if (a.Queries < 1 || a.K < 1 || a.Steps < 0 || a.EmbeddingDimension < 1 || a.Threads < 1)
            throw new ArgumentException($"--queries, --k, --embedding-dim and --threads must be at least 1 and --steps at least 0.\n{Usage}");
        if (a.Metric is not ("euclidean" or "cosine"))
            throw new ArgumentException($"--metric must be euclidean or cosine; got '{a.Metric}'.");
        return a;
    }

    private static (int, int) ParsePair(string text)
    {
        var parts = text.Split(',');
        if (parts.Length != 2) throw new ArgumentException($"--bench expects N,D (e.g. 20000,512); got '{text}'.");
        return (int.Parse(parts[0], CultureInfo.InvariantCulture), int.Parse(parts[1], CultureInfo.InvariantCulture));
    }
}
