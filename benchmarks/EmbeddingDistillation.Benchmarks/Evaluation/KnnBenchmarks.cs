using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using EmbeddingDistillation.Evaluation;
using EmbeddingDistillation.Primitives;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Benchmarks.Evaluation;

/// <summary>
/// Exact kNN for Recall@K (k = 16) on 20,000 x 512 float32 embeddings against its floor: the Gram matmul of the
/// same size alone, in the same query chunks. Short monitoring job (the machine is small and shared):
/// <c>dotnet run -c Release --project benchmarks/EmbeddingDistillation.Benchmarks -- --filter '*Knn*'</c>.
/// </summary>
[Config(typeof(ShortInProcessConfig))]
public class KnnBenchmarks
{
    /// <summary>
    /// Monitoring strategy, 1 warm-up + 3 measured iterations, in-process: the patched libLibTorchSharp.so (see the
    /// Linux note in DESIGN.md) lives in this project's own output, which a separately generated benchmark exe lacks.
    /// </summary>
    private sealed class ShortInProcessConfig : ManualConfig
    {
        public ShortInProcessConfig() =>
            AddJob(Job.Default.WithStrategy(RunStrategy.Monitoring).WithLaunchCount(1).WithWarmupCount(1)
                .WithIterationCount(3).WithToolchain(InProcessEmitToolchain.Instance));
    }

    private const int N = 20_000, D = 512, K = 16;
    private Tensor _x = null!;
    private Tensor _labels = null!;
    private int _rows;
    private Tensor _norms = null!;
    private Tensor _chunkScores = null!;

    /// <summary>Random L2-normalised embeddings and 100 classes.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var generator = new Generator(1);
        _x = nn.functional.normalize(randn([N, D], generator: generator), p: 2, dim: 1);
        _labels = randint(0, 100, [N], generator: generator);
        _rows = NearestNeighbours.ChunkRows(N, ScalarType.Float32, KnnOptions.DefaultMemoryBudgetBytes);
        _norms = _x.pow(2).sum(1);
        _chunkScores = PairwiseDistances.SquaredEuclideanRowShifted(_x.narrow(0, 0, _rows), _x, _norms);
        Console.WriteLine($"// torch threads {get_num_threads()}, chunk rows {_rows}");
    }

    /// <summary>The floor: x_chunk @ x^T for every query chunk, nothing else.</summary>
    [Benchmark(Baseline = true)]
    public double GramMatmulFloor()
    {
        double check = 0;
        for (long start = 0; start < N; start += _rows)
        {
            using var scope = NewDisposeScope();
            var gram = mm(_x.narrow(0, start, Math.Min(_rows, N - start)), _x.t());
            check += gram[0, 0].ToDouble();
        }
        return check;
    }

    /// <summary>NearestNeighbours.Search(x, 16): distances, self exclusion, topk, tie handling.</summary>
    [Benchmark]
    public long NearestNeighbours16()
    {
        using var knn = NearestNeighbours.Search(_x, K);
        return knn.Indices[0, 0].ToInt64();
    }

    /// <summary>RetrievalMetrics.RecallAtK at {1, 2, 4, 8, 16}: the kNN plus label lookups.</summary>
    [Benchmark]
    public double RecallAtCubCars() => RetrievalMetrics.RecallAtK(_x, _labels, [.. RecallPresets.CubCars])[1];

    /// <summary>Stage 1 of the kNN alone: the score chunks |g|^2 - 2 q.g (addmm with the broadcast norm row).</summary>
    [Benchmark]
    public double StageScores()
    {
        double check = 0;
        for (long start = 0; start < N; start += _rows)
        {
            using var scope = NewDisposeScope();
            var scores = PairwiseDistances.SquaredEuclideanRowShifted(_x.narrow(0, start, Math.Min(_rows, N - start)), _x, _norms);
            check += scores[0, 0].ToDouble();
        }
        return check;
    }

    /// <summary>Stage 2 of the kNN alone: topk(k + 1) over score chunks of the same sizes.</summary>
    [Benchmark]
    public double StageTopK()
    {
        double check = 0;
        for (long start = 0; start < N; start += _rows)
        {
            using var scope = NewDisposeScope();
            var (values, _) = _chunkScores.narrow(0, 0, Math.Min(_rows, N - start)).topk(K + 1, dim: 1, largest: false);
            check += values[0, 0].ToDouble();
        }
        return check;
    }

    /// <summary>Frees the inputs.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _x.Dispose();
        _labels.Dispose();
        _norms.Dispose();
        _chunkScores.Dispose();
    }
}
