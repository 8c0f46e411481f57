using BenchmarkDotNet.Running;

namespace EmbeddingDistillation.Benchmarks;

/// <summary>
/// Runs the benchmarks. Every benchmark class in this assembly is discovered, so areas add their own files:
/// <c>dotnet run -c Release --project benchmarks/EmbeddingDistillation.Benchmarks -- --filter '*Loss*'</c>.
/// </summary>
public static class Program
{
    /// <summary>Entry point: BenchmarkDotNet's switcher (filters, jobs and exporters from the command line).</summary>
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
