using System.Diagnostics;
using EmbeddingDistillation.Vision;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Tests.Vision;

/// <summary>
/// Stopwatch measurement of the loader on CUB-like images (500x375 JPEG), 224 px training batches of 32.
/// Filter with --filter "Category=Benchmark"; the number is recorded in docs/datasets.md.
/// </summary>
public class LoaderThroughputTests(ITestOutputHelper output)
{
    [Fact]
    [Trait("Category", "Benchmark")]
    public void TrainingBatchesOf224PixelsPerSecond()
    {
        using var dir = new TempDir();
        const int Images = 64;
        var records = new List<ImageRecord>();
        for (int i = 0; i < Images; i++)
        {
            string relative = $"c{i % 8}/{i}.jpg";
            TestImages.WriteJpeg(dir.File(relative), i % 2 == 0 ? 500 : 375, i % 2 == 0 ? 375 : 500, i, quality: 90);
            records.Add(new ImageRecord(relative, i % 8));
        }
        var dataset = new ImageDataset(new DatasetLayout("bench", dir.Path, records, new Dictionary<int, string>()));
        var epoch = Enumerable.Range(0, 6).Select(b => new BatchRequest(Enumerable.Range(0, 32).Select(k => (b * 32 + k) % Images).ToArray(), b)).ToList();

        foreach (int workers in new[] { 1, 2 })
        {
            var loader = new PrefetchingBatchLoader(dataset, new BatchLoaderOptions { WorkerCount = workers });
            // Warm-up batch (JIT, native library load), not timed.
            foreach (var b in loader.Load(epoch.Take(1))) b.Dispose();
            var cpuStart = Process.GetCurrentProcess().TotalProcessorTime;
            var watch = Stopwatch.StartNew();
            int count = 0;
            foreach (var batch in loader.Load(epoch))
            {
                using var scope = NewDisposeScope();
                Assert.Equal(new long[] { 32, 3, 224, 224 }, batch.Images.shape);
                count += batch.Labels.Length;
                batch.Dispose();
            }
            watch.Stop();
            // CPU time of the whole process (workers, GC, tensor wrapping): robust to other load on the machine.
            double cpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpuStart).TotalSeconds;
            double perSecond = count / watch.Elapsed.TotalSeconds;
            output.WriteLine($"workers={workers} (ProcessorCount={Environment.ProcessorCount}): {count} images in {watch.Elapsed.TotalSeconds:F2} s wall = {perSecond:F1} images/s; " +
                $"{cpuSeconds:F2} s CPU = {count / cpuSeconds:F1} images per CPU-second");
            Assert.True(perSecond > 5, $"loader throughput {perSecond:F1} images/s is implausibly low");
        }
    }
}
