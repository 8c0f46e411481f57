using System.Diagnostics;
using System.Globalization;
using TorchSharp;

namespace EmbeddingDistillation.Benchmarks.Losses;

/// <summary>
/// The fused losses against their floor and against the torch form they replaced, in one process: for every loss,
/// batch N and dimension D, the three are timed one after another, round after round, and each keeps its minimum
/// (BenchmarkDotNet's separate cases could not reach uncontended times on a shared machine; docs/benchmarks.md).
/// Inputs, floor and loss are <see cref="LossBenchmarks"/>'s.
/// <c>dotnet run -c Release --project benchmarks/EmbeddingDistillation.Benchmarks -- losses --threads 2 --rounds 150</c>.
/// </summary>
internal static class LossFloorComparison
{
    private static readonly string[] Fused = ["relative", "triplet-hard", "rkd-distance", "contrastive", "multi-similarity"];

    public static int Run(IReadOnlyList<string> args)
    {
        int threads = 2, rounds = 150;
        string[] losses = Fused;
        int[] batches = [128, 512], dims = [128, 512];
        for (int i = 0; i < args.Count; i++)
        {
            string Next() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"option {args[i]} needs a value");
            int[] Ints() => Next().Split(',').Select(v => int.Parse(v, CultureInfo.InvariantCulture)).ToArray();
            switch (args[i])
            {
                case "--threads": threads = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--rounds": rounds = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--losses": losses = Next().Split(','); break;
                case "--batches": batches = Ints(); break;
                case "--dims": dims = Ints(); break;
                default: throw new ArgumentException($"unknown option {args[i]} (--threads, --rounds, --losses, --batches, --dims)");
            }
        }
        torch.set_num_threads(threads);
        Console.WriteLine($"Losses vs floor, forward + backward, float32 CPU, {threads} thread(s), minimum of {rounds} interleaved rounds after a warm-up of at least 100 rounds and 1 s; times in ms");
        Console.WriteLine("| Loss | N | D | Floor | Torch form (before) | Fused (after) | Before / floor | After / floor |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var loss in losses)
            foreach (var n in batches)
                foreach (var d in dims)
                {
                    var fused = Case(loss, n, d);
                    var torchForm = Case(loss, n, d);
                    if (!torchForm.UseTorchForm()) throw new ArgumentException($"'{loss}' has no fused path to compare (fused: {string.Join(", ", Fused)}).");
                    // Warm up until the JIT has replaced the first, unoptimised code of the C# passes (tiered
                    // compilation: about 30 calls, then a background compile): at least 100 rounds and 1 s.
                    var warmUp = Stopwatch.StartNew();
                    for (int r = 0; r < 100 || warmUp.Elapsed.TotalSeconds < 1; r++)
                    {
                        fused.Floor();
                        torchForm.Library();
                        fused.Library();
                    }
                    double floor = double.MaxValue, before = double.MaxValue, after = double.MaxValue;
                    for (int r = 0; r < rounds; r++)
                    {
                        double f = Time(() => fused.Floor()), b = Time(() => torchForm.Library()), a = Time(() => fused.Library());
                        floor = Math.Min(floor, f);
                        before = Math.Min(before, b);
                        after = Math.Min(after, a);
                    }
                    Console.WriteLine(FormattableString.Invariant(
                        $"| {loss} | {n} | {d} | {floor:F3} | {before:F3} | {after:F3} | {before / floor:F2} | {after / floor:F2} |"));
                    fused.Cleanup();
                    torchForm.Cleanup();
                }
        return 0;
    }

    private static LossBenchmarks Case(string loss, int n, int d)
    {
        var b = new LossBenchmarks { Loss = loss, N = n, D = d };
        b.Setup();
        return b;
    }

    private static double Time(Func<double> run)
    {
        var clock = Stopwatch.StartNew();
        run();
        return clock.Elapsed.TotalMilliseconds;
    }
}
