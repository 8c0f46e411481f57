using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using EmbeddingDistillation.Evaluation;
using EmbeddingDistillation.Export;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Benchmarks.Export;

/// <summary>
/// <see cref="EmbeddingIndex.Search(Tensor, int, CancellationToken)"/> on a 20,000 x 512 float32 gallery (k = 10)
/// against its floor: one query against the matrix-vector product it cannot avoid, a batch of 256 queries against
/// the matmul; and the unprepared function (<see cref="NearestNeighbours.Search(Tensor, Tensor, int, KnnOptions?, CancellationToken)"/>,
/// which validates and takes the gallery's norms on every call) for comparison.
/// <c>dotnet run -c Release --project benchmarks/EmbeddingDistillation.Benchmarks -- --filter '*IndexBenchmarks*'</c>.
/// </summary>
[Config(typeof(Config))]
public class IndexBenchmarks
{
    /// <summary>In-process (the patched native library lives in this project's output), many short iterations.</summary>
    private sealed class Config : ManualConfig
    {
        public Config() =>
            AddJob(Job.Default.WithWarmupCount(3).WithIterationCount(15).WithToolchain(InProcessEmitToolchain.Instance));
    }

    private const int N = 20_000, D = 512, K = 10, Batch = 256;
    private Tensor _gallery = null!;
    private Tensor _query = null!;
    private Tensor _queries = null!;
    private EmbeddingIndex _index = null!;

    /// <summary>Random L2-normalised gallery and queries.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var generator = new Generator(1);
        _gallery = nn.functional.normalize(randn([N, D], generator: generator), p: 2, dim: 1);
        _queries = nn.functional.normalize(randn([Batch, D], generator: generator), p: 2, dim: 1);
        _query = _queries.narrow(0, 0, 1).contiguous();
        _index = EmbeddingIndex.Build(_gallery);
        Console.WriteLine($"// torch threads {get_num_threads()}");
    }

    /// <summary>Floor of one query: gallery @ q.</summary>
    [Benchmark]
    public float OneQueryMatVecFloor()
    {
        using var scope = NewDisposeScope();
        return _gallery.mv(_query[0]).data<float>()[0];
    }

    /// <summary>One query through the prepared index.</summary>
    [Benchmark]
    public long OneQueryIndex() => _index.Search(_query, K)[0][0].Id;

    /// <summary>One query through the unprepared function (the index's former path).</summary>
    [Benchmark]
    public long OneQueryUnprepared()
    {
        using var knn = NearestNeighbours.Search(_query, _gallery, K);
        return knn.Indices.data<long>()[0];
    }

    /// <summary>Floor of a batch: queries @ gallery^T.</summary>
    [Benchmark]
    public float BatchMatmulFloor()
    {
        using var scope = NewDisposeScope();
        return _queries.mm(_gallery.t()).data<float>()[0];
    }

    /// <summary>A batch of 256 queries through the prepared index.</summary>
    [Benchmark]
    public long BatchIndex() => _index.Search(_queries, K)[0][0].Id;

    /// <summary>Frees the tensors.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _index.Dispose();
        _gallery.Dispose();
        _queries.Dispose();
        _query.Dispose();
    }
}
