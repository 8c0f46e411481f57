using System.Diagnostics;
using EmbeddingDistillation.Evaluation;
using EmbeddingDistillation.Export;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Samples.IndexDemo;

/// <summary>Times build, search, save and load of a random L2-normalised N x D index (<c>--bench N,D</c>).</summary>
internal static class IndexBenchmark
{
    public static void Run(int n, int d, KnnMetric metric)
    {
        Console.WriteLine($"random index {n} x {d} float32, {metric}, {torch.get_num_threads()} threads");
        manual_seed(0);
        using var gallery = nn.functional.normalize(randn(n, d), p: 2, dim: 1);
        using var queries = nn.functional.normalize(randn(1000, d), p: 2, dim: 1);
        var sw = Stopwatch.StartNew();
        using var index = EmbeddingIndex.Build(gallery, options: new EmbeddingIndexOptions { Metric = metric });
        Console.WriteLine($"  build        {sw.Elapsed.TotalMilliseconds,8:F1} ms");

        index.Search(queries.narrow(0, 0, 10), 10); // warm-up
        foreach (var batch in new[] { 1, 100, 1000 })
        {
            var reps = batch == 1 ? 50 : batch == 100 ? 5 : 2;
            using var q = queries.narrow(0, 0, batch);
            sw.Restart();
            for (var r = 0; r < reps; r++) index.Search(q, 10);
            var ms = sw.Elapsed.TotalMilliseconds / reps;
            Console.WriteLine($"  search k=10, {batch,4} queries {ms,8:F2} ms  ({batch / ms * 1000:F0} queries/s)");
        }

        var path = Path.Combine(Path.GetTempPath(), $"index-bench-{Guid.NewGuid():N}.edidx");
        try
        {
            sw.Restart();
            index.Save(path);
            var save = sw.Elapsed.TotalMilliseconds;
            sw.Restart();
            using var loaded = EmbeddingIndex.Load(path);
            var load = sw.Elapsed.TotalMilliseconds;
            var mb = new FileInfo(path).Length / 1e6;
            Console.WriteLine($"  save {save:F0} ms, load (with SHA-256 check) {load:F0} ms, file {mb:F1} MB");
        }
        finally
        {
            File.Delete(path);
        }
    }
}
