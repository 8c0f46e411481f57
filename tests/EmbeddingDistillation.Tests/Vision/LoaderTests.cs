using System.Collections.Concurrent;
using EmbeddingDistillation.Vision;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Tests.Vision;

public class LoaderTests
{
    /// <summary>A source that writes each sample's index into its slot and records which batches have started.</summary>
    private sealed class FakeSource(int count, int failAt = -1) : IImageBatchSource
    {
        private readonly ConcurrentDictionary<int, bool> _started = new();
        public int Delivered;
        public int MaxAlive;

        public string Name => "fake";
        public int Count => count;
        public IReadOnlyList<int> Labels => Enumerable.Range(0, count).Select(i => i % 3).ToArray();
        public int ImageSize => 2;
        public bool HasTeacherView => false;
        public Tensor LoadImages(IReadOnlyList<int> indices, bool augment, int seed) => throw new NotSupportedException();

        public void FillSample(int index, int position, bool augment, int batchSeed, Span<float> destination, Span<float> teacherDestination)
        {
            // The batch seed is the batch number in these tests.
            _started.TryAdd(batchSeed, true);
            int alive = _started.Count - Volatile.Read(ref Delivered);
            int max;
            while (alive > (max = Volatile.Read(ref MaxAlive)) && Interlocked.CompareExchange(ref MaxAlive, alive, max) != max) { }
            if (index == failAt) throw new ImageDataException($"/data/img{index}.jpg", "corrupt for the test.");
            Thread.Sleep(1);
            destination.Fill(index);
        }
    }

    private static List<BatchRequest> Epoch(int count, int batchSize, int seed)
    {
        var order = Enumerable.Range(0, count).OrderBy(_ => 0).ToArray();
        new Random(seed).Shuffle(order);
        return order.Chunk(batchSize).Select((chunk, b) => new BatchRequest(chunk, b)).ToList();
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 3)]
    [InlineData(4, 2)]
    public void DeliversEverySampleOnceInOrderWithinTheBound(int workers, int maxReady)
    {
        var source = new FakeSource(60);
        var epoch = Epoch(60, 7, seed: workers);
        var loader = new PrefetchingBatchLoader(source, new BatchLoaderOptions { WorkerCount = workers, MaxReadyBatches = maxReady });
        var seen = new List<int>();
        int number = 0;
        foreach (var batch in loader.Load(epoch))
        {
            using var scope = NewDisposeScope();
            Assert.Equal(number, batch.Number);
            Assert.Same(epoch[number], batch.Request);
            var values = batch.Images[.., 0, 0, 0].data<float>().Select(v => (int)v).ToArray();
            Assert.Equal(epoch[number].Indices, values);
            Assert.Equal(epoch[number].Indices.Select(i => i % 3), batch.Labels);
            Assert.Equal(new long[] { epoch[number].Indices.Count, 3, 2, 2 }, batch.Images.shape);
            seen.AddRange(values);
            Thread.Sleep(10); // a slow consumer lets the producer run ahead to the bound
            Interlocked.Increment(ref source.Delivered);
            batch.Dispose();
            number++;
        }
        Assert.Equal(epoch.Count, number);
        Assert.Equal(Enumerable.Range(0, 60), seen.Order());
        Assert.InRange(source.MaxAlive, 2, maxReady + 1);
    }

    [Fact]
    public void ErrorReachesTheConsumerAfterEarlierBatchesNamingTheFile()
    {
        var source = new FakeSource(40, failAt: 17);
        var epoch = Enumerable.Range(0, 40).Chunk(5).Select((c, b) => new BatchRequest(c, b)).ToList();
        var loader = new PrefetchingBatchLoader(source, new BatchLoaderOptions { WorkerCount = 2 });
        var received = new List<int>();
        var e = Assert.Throws<ImageDataException>(() =>
        {
            foreach (var batch in loader.Load(epoch))
            {
                received.Add(batch.Number);
                batch.Dispose();
            }
        });
        Assert.Contains("/data/img17.jpg", e.Message);
        Assert.Equal([0, 1, 2], received);
    }

    [Fact]
    public void CancellationStopsTheLoader()
    {
        var source = new FakeSource(100);
        var epoch = Enumerable.Range(0, 100).Chunk(4).Select((c, b) => new BatchRequest(c, b)).ToList();
        using var cts = new CancellationTokenSource();
        var loader = new PrefetchingBatchLoader(source, new BatchLoaderOptions { WorkerCount = 2 });
        int received = 0;
        Assert.ThrowsAny<OperationCanceledException>(() =>
        {
            foreach (var batch in loader.Load(epoch, cts.Token))
            {
                batch.Dispose();
                if (++received == 2) cts.Cancel();
            }
        });
        Assert.Equal(2, received);
    }

    [Fact]
    public void StoppingEarlyReleasesTheWorkers()
    {
        var source = new FakeSource(100);
        var epoch = Enumerable.Range(0, 100).Chunk(4).Select((c, b) => new BatchRequest(c, b)).ToList();
        var loader = new PrefetchingBatchLoader(source, new BatchLoaderOptions { WorkerCount = 2, MaxReadyBatches = 1 });
        using (var first = loader.Load(epoch).First()) Assert.Equal(0, first.Number);
        Assert.True(source.MaxAlive <= 2);
    }

    [Fact]
    public void RealDatasetLoadsTheSameTensorsAsLoadImagesWhateverTheWorkerCount()
    {
        using var dir = new TempDir();
        DatasetFixtures.WriteCub(dir.Path);
        var dataset = new ImageDataset(Cub200.Read(dir.Path), options: new ImageDatasetOptions { Transform = new ImageTransformOptions { ImageSize = 24 } });
        var epoch = Epoch(dataset.Count, 5, seed: 3);
        using var scope = NewDisposeScope();
        foreach (int workers in new[] { 1, 3 })
        {
            var loader = new PrefetchingBatchLoader(dataset, new BatchLoaderOptions { WorkerCount = workers });
            foreach (var batch in loader.Load(epoch))
            {
                var expected = dataset.LoadImages(batch.Request.Indices, true, batch.Request.Seed);
                Assert.True(expected.equal(batch.Images).all().item<bool>());
                Assert.Null(batch.TeacherImages);
                Assert.Equal(batch.Request.Indices.Select(i => dataset.Labels[i]), batch.LabelsTensor().data<long>().Select(l => (int)l));
            }
        }
    }

    [Fact]
    public async Task AsyncStreamDeliversInOrder()
    {
        var source = new FakeSource(20);
        var epoch = Enumerable.Range(0, 20).Chunk(6).Select((c, b) => new BatchRequest(c, b)).ToList();
        var loader = new PrefetchingBatchLoader(source, new BatchLoaderOptions { WorkerCount = 2 });
        var numbers = new List<int>();
        await foreach (var batch in loader.LoadAsync(epoch))
        {
            numbers.Add(batch.Number);
            batch.Dispose();
        }
        Assert.Equal([0, 1, 2, 3], numbers);
    }

    [Fact]
    public void CrossQualityViewsShareGeometryAndDifferInQuality()
    {
        using var dir = new TempDir();
        DatasetFixtures.WriteCub(dir.Path);
        var layout = Cub200.Read(dir.Path);
        var transform = new ImageTransformOptions { ImageSize = 32 };
        var clean = new ImageDataset(layout, options: new ImageDatasetOptions { Transform = transform });
        var cross = new CrossQualityDataset(layout, lowQuality: new LowQualityOptions { DownscaleFactor = 4, JpegQuality = 15 }, options: new ImageDatasetOptions { Transform = transform });
        var identity = new CrossQualityDataset(layout, lowQuality: new LowQualityOptions { DownscaleFactor = 1, JpegQuality = null }, options: new ImageDatasetOptions { Transform = transform });
        int[] indices = [1, 4, 9];
        using var scope = NewDisposeScope();

        var teacher = cross.LoadTeacherImages(indices, true, 21);
        Assert.True(teacher.equal(clean.LoadImages(indices, true, 21)).all().item<bool>());
        var student = cross.LoadImages(indices, true, 21);
        Assert.False(student.equal(teacher).all().item<bool>());
        // Same crop and flip: the degraded view stays close to the clean one (a different crop would not).
        double sameSeed = (student - teacher).abs().mean().item<float>();
        double otherSeed = (student - clean.LoadImages(indices, true, 22)).abs().mean().item<float>();
        Assert.True(sameSeed < otherSeed, $"same seed {sameSeed}, other seed {otherSeed}");
        // Without degradation the two views are identical.
        Assert.True(identity.LoadImages(indices, true, 21).equal(identity.LoadTeacherImages(indices, true, 21)).all().item<bool>());

        var loader = new PrefetchingBatchLoader(cross, new BatchLoaderOptions { WorkerCount = 2 });
        var batch = loader.Load([new BatchRequest(indices, 21)]).Single();
        Assert.True(batch.Images.equal(student).all().item<bool>());
        Assert.True(batch.TeacherImages!.equal(teacher).all().item<bool>());
    }
}
