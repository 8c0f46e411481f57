using EmbeddingDistillation.Evaluation;
using EmbeddingDistillation.Primitives;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Tests.Evaluation;

public class NearestNeighboursTests
{
    /// <summary>Brute force: full distance matrix, self set to +inf, stable full sort (ties -> lower index).</summary>
    private static (long[] Indices, double[] Distances) BruteForce(Tensor q, Tensor? g, int k)
    {
        using var scope = NewDisposeScope();
        var d = PairwiseDistances.SquaredEuclidean(q.to(ScalarType.Float64), g?.to(ScalarType.Float64));
        if (g is null) d.diagonal().fill_(double.PositiveInfinity);
        var (values, indices) = d.sort(1, descending: false, stable: true);
        return (indices.narrow(1, 0, k).contiguous().data<long>().ToArray(),
                values.narrow(1, 0, k).sqrt().contiguous().data<double>().ToArray());
    }

    private static long[] Longs(Tensor t) => t.contiguous().data<long>().ToArray();

    [Fact]
    public void DuplicatesAreRankedByLowerIndex()
    {
        // Points 0, 3, 5 coincide at (0, 0); points 1, 2, 4, 6 at (1, 0).
        var x = tensor(new float[] { 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0 }).view(7, 2);
        foreach (var rows in new int?[] { 1, 3, null })
        {
            using var knn = NearestNeighbours.Search(x, 4, new KnnOptions { ChunkRows = rows });
            var idx = Longs(knn.Indices);
            Assert.Equal(new long[] { 3, 5, 1, 2 }, idx[0..4]);  // the tie at distance 1 straddles the cut: 1, 2 win over 4, 6
            Assert.Equal(new long[] { 2, 4, 6, 0 }, idx[4..8]);
            Assert.Equal(new long[] { 0, 3, 1, 2 }, idx[20..24]); // query 5: its duplicates 0, 3, then the lowest of the tie
            Assert.Equal(new float[] { 0, 0, 1, 1 }, knn.Distances[0].data<float>().ToArray());
        }
    }

    [Fact]
    public void ManyTiesMatchAStableFullSort()
    {
        // Integer coordinates in {0, 1, 2}^3: exact distances with many ties at every rank.
        var x = randint(0, 3, [90, 3], generator: new Generator(7)).to(ScalarType.Float32);
        var (expected, expectedDistances) = BruteForce(x, null, 20);
        foreach (var rows in new[] { 1, 8, 90 })
        {
            using var knn = NearestNeighbours.Search(x, 20, new KnnOptions { ChunkRows = rows });
            Assert.Equal(expected, Longs(knn.Indices));
            var distances = knn.Distances.to(ScalarType.Float64).contiguous().data<double>().ToArray();
            for (var i = 0; i < distances.Length; i++) Assert.Equal(expectedDistances[i], distances[i], 5);
        }
    }

    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.Float64)]
    public void ChunkSizeDoesNotChangeTheResult(ScalarType dtype)
    {
        var x = randn([150, 16], dtype: dtype, generator: new Generator(3));
        using var reference = NearestNeighbours.Search(x, 10);
        Assert.Equal(ScalarType.Int64, reference.Indices.dtype);
        Assert.Equal(dtype, reference.Distances.dtype);
        Assert.Equal(new long[] { 150, 10 }, reference.Indices.shape);
        foreach (var rows in new[] { 1, 7, 64, 149 })
        {
            using var knn = NearestNeighbours.Search(x, 10, new KnnOptions { ChunkRows = rows });
            Assert.True(knn.Indices.equal(reference.Indices).all().item<bool>(), $"indices differ at {rows} rows per chunk");
            // Same indices; distances agree to round-off (BLAS may sum a 1-row product in another order than a block).
            var tolerance = dtype == ScalarType.Float32 ? 1e-5 : 1e-12;
            Assert.True(knn.Distances.allclose(reference.Distances, rtol: tolerance, atol: tolerance), $"distances differ at {rows} rows per chunk");
        }
        // A tiny budget forces 1-row chunks through the budget rule too.
        using var tiny = NearestNeighbours.Search(x, 10, new KnnOptions { MemoryBudgetBytes = 1 });
        Assert.True(tiny.Indices.equal(reference.Indices).all().item<bool>());
        if (dtype == ScalarType.Float64)
        {
            var (expected, _) = BruteForce(x, null, 10);
            Assert.Equal(expected, Longs(reference.Indices));
        }
    }

    [Fact]
    public void QueryGalleryModeExcludesNothing()
    {
        var gallery = randn([40, 8], dtype: ScalarType.Float64, generator: new Generator(11));
        var queries = cat([gallery.narrow(0, 5, 3), randn([4, 8], dtype: ScalarType.Float64, generator: new Generator(12))], 0);
        using var knn = NearestNeighbours.Search(queries, gallery, 6, new KnnOptions { ChunkRows = 2 });
        var (expected, expectedDistances) = BruteForce(queries, gallery, 6);
        Assert.Equal(expected, Longs(knn.Indices));
        Assert.Equal(new long[] { 5, 6, 7 }, Longs(knn.Indices[.., 0])[0..3]); // a query that is in the gallery finds itself
        var distances = knn.Distances.contiguous().data<double>().ToArray();
        for (var i = 0; i < distances.Length; i++) Assert.Equal(expectedDistances[i], distances[i], 6);
        using var all = NearestNeighbours.Search(queries, gallery, 40);  // k = G is allowed without a self-match
        Assert.Throws<ArgumentOutOfRangeException>(() => NearestNeighbours.Search(queries, gallery, 41));
    }

    [Fact]
    public void CosineRanksLikeEuclideanOnNormalisedVectors()
    {
        var x = randn([60, 5], generator: new Generator(5));
        using var cosine = NearestNeighbours.Search(x * 3.0, 5, new KnnOptions { Metric = KnnMetric.Cosine });
        var normalised = nn.functional.normalize(x, p: 2, dim: 1);
        using var euclid = NearestNeighbours.Search(normalised, 5);
        Assert.True(cosine.Indices.equal(euclid.Indices).all().item<bool>());
        // 1 - cos of the nearest neighbour, checked directly.
        var i0 = cosine.Indices[0, 0].item<long>();
        var cos = (normalised[0] * normalised[i0]).sum().item<float>();
        Assert.Equal(1 - cos, cosine.Distances[0, 0].item<float>(), 5);
    }

    [Fact]
    public void BadArgumentsThrow()
    {
        var x = randn(5, 3);
        Assert.Throws<ArgumentOutOfRangeException>(() => NearestNeighbours.Search(x, 5));  // N - 1 = 4 at most
        Assert.Throws<ArgumentOutOfRangeException>(() => NearestNeighbours.Search(x, 0));
        var e = Assert.Throws<ArgumentException>(() => NearestNeighbours.Search(x, randn(4, 2), 1));
        Assert.Contains("[4, 2]", e.Message);
        Assert.Throws<ArgumentException>(() => NearestNeighbours.Search(x, randn(4, 3, dtype: ScalarType.Float64), 1));
        Assert.Throws<ArgumentException>(() => NearestNeighbours.Search(x.to(ScalarType.Int32), 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => NearestNeighbours.Search(x, 1, new KnnOptions { ChunkRows = 0 }));
    }

    [Fact]
    public void CancellationStopsBetweenChunks()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.Throws<OperationCanceledException>(() => NearestNeighbours.Search(randn(10, 2), 2, null, cts.Token));
    }

    [Fact]
    public void StanfordOnlineProductsFitsInTwoGigabytes()
    {
        // SOP test split: 60,502 embeddings of 512 float32 values, Recall@1000 needs k = 1000.
        const long n = 60_502, d = 512, k = 1000;
        var rows = NearestNeighbours.ChunkRows(n, ScalarType.Float32, KnnOptions.DefaultMemoryBudgetBytes);
        var chunk = rows * NearestNeighbours.BytesPerChunkRow(n, ScalarType.Float32);
        Assert.True(chunk <= KnnOptions.DefaultMemoryBudgetBytes);
        Assert.Equal(n * 8, NearestNeighbours.BytesPerChunkRow(n, ScalarType.Float32)); // score row + equal re-sort reserve
        Assert.Equal(1109, rows);
        var embeddings = n * d * 4;                 // 124 MB
        var fullResult = n * k * (8 + 4);           // indices int64 + distances float32 when returned whole: 726 MB
        var topKPerChunk = rows * (k + 1) * (8 + 4) * 4;  // topk output, kept copy, two reorderings: 53 MB
        var total = embeddings + chunk + fullResult + topKPerChunk;
        Assert.True(total < 2L * 1024 * 1024 * 1024, $"estimated {total / 1e9:F2} GB");
        Assert.Equal(1, NearestNeighbours.ChunkRows(n, ScalarType.Float64, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => NearestNeighbours.ChunkRows(n, ScalarType.Float32, 0));
    }
}
