using BenchmarkDotNet.Running;
using EmbeddingDistillation.Benchmarks.Training;

namespace EmbeddingDistillation.Benchmarks;

/// <summary>
/// Runs the benchmarks. Every benchmark class in this assembly is discovered, so areas add their own files:
/// <c>dotnet run -c Release --project benchmarks/EmbeddingDistillation.Benchmarks -- --filter '*Loss*'</c>.
/// Four in-process timing tools take a verb instead: <c>step</c> (training step against PyTorch, docs/benchmarks.md
/// "Training step vs PyTorch"), <c>speedup</c> (student vs teacher inference, "Student vs teacher speed-up"),
/// <c>layers</c> (per-layer forward/backward times of one backbone) and <c>losses</c> (the fused losses against their
/// floor and their torch form, "Fused CPU paths").
/// </summary>
public static class Program
{
    /// <summary>Entry point: the verbs above, else BenchmarkDotNet's switcher (filters, jobs and exporters from the command line).</summary>
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "step") return TrainStepComparison.Run(StepArgs.Parse(args[1..]));
        if (args.Length > 0 && args[0] == "speedup") return Export.StudentSpeedup.Run(StepArgs.Parse(args[1..]));
        if (args.Length > 0 && args[0] == "layers") return LayerProfile.Run(StepArgs.Parse(args[1..]));
        if (args.Length > 0 && args[0] == "losses") return Losses.LossFloorComparison.Run(args[1..]);
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
