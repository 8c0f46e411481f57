using EmbeddingDistillation.Data;
using EmbeddingDistillation.Evaluation;
using EmbeddingDistillation.Export;
using EmbeddingDistillation.Networks;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Tests.Export;

public class IndexSearchTests
{
    /// <summary>Reference ranking: the full distance matrix in float64, each row sorted (stable: ties by row).</summary>
    private static (long[][] Rows, double[][] Distances) BruteForce(Tensor queries, Tensor gallery, KnnMetric metric, int k)
    {
        using var scope = NewDisposeScope();
        var q = queries.to(ScalarType.Float64);
        var g = gallery.to(ScalarType.Float64);
        Tensor d;
        if (metric == KnnMetric.Cosine)
        {
            var qn = q / q.norm(1, keepdim: true);
            var gn = g / g.norm(1, keepdim: true);
            d = 1 - qn.matmul(gn.t());
        }
        else
        {
            d = (q.unsqueeze(1) - g.unsqueeze(0)).pow(2).sum(-1).sqrt();
        }
        var (sorted, order) = d.sort(1, descending: false, stable: true);
        var rows = new long[q.shape[0]][];
        var dist = new double[q.shape[0]][];
        for (var i = 0; i < rows.Length; i++)
        {
            rows[i] = order[i].narrow(0, 0, k).data<long>().ToArray();
            dist[i] = sorted[i].narrow(0, 0, k).data<double>().ToArray();
        }
        return (rows, dist);
    }

    [Theory]
    [InlineData(KnnMetric.Euclidean, ScalarType.Float32)]
    [InlineData(KnnMetric.Cosine, ScalarType.Float32)]
    [InlineData(KnnMetric.Euclidean, ScalarType.Float64)]
    [InlineData(KnnMetric.Cosine, ScalarType.Float64)]
    public void SearchEqualsBruteForceOverTheFullDistanceMatrix(KnnMetric metric, ScalarType dtype)
    {
        manual_seed(11);
        using var gallery = randn(300, 16, dtype: dtype);
        using var queries = randn(40, 16, dtype: dtype);
        // Shuffled, non-contiguous ids: results must report ids, not rows.
        var ids = Enumerable.Range(0, 300).Select(i => 1_000_000L + 7L * ((i * 113) % 300)).ToArray();
        // A tiny budget forces many query chunks.
        using var index = EmbeddingIndex.Build(gallery, ids, options: new EmbeddingIndexOptions { Metric = metric, SearchMemoryBudgetBytes = 8 * 1024 });

        var hits = index.Search(queries, 9);
        var (rows, dist) = BruteForce(queries, gallery, metric, 9);

        Assert.Equal(40, hits.Count);
        var tolerance = dtype == ScalarType.Float32 ? 1e-4 : 1e-10;
        for (var i = 0; i < hits.Count; i++)
        {
            Assert.Equal(rows[i].Select(r => ids[r]), hits[i].Select(h => h.Id));
            Assert.Equal(rows[i].Select(r => (int)r), hits[i].Select(h => h.Row));
            for (var j = 0; j < 9; j++)
                Assert.InRange(hits[i][j].Distance, dist[i][j] - tolerance, dist[i][j] + tolerance);
            Assert.All(hits[i], h => Assert.Null(h.Name));
        }
    }

    [Fact]
    public void SingleVectorQueryAndNamesAreReturned()
    {
        using var gallery = tensor(new float[,] { { 0, 0 }, { 3, 4 }, { 1, 0 } });
        using var index = EmbeddingIndex.Build(gallery, [10, 20, 30], ["a.png", "b.png", "c.png"]);
        using var query = tensor(new float[] { 0.9f, 0 });

        var hits = Assert.Single(index.Search(query, 2));

        Assert.Equal([30L, 10L], hits.Select(h => h.Id));
        Assert.Equal(["c.png", "a.png"], hits.Select(h => h.Name));
        Assert.Equal(0.1, hits[0].Distance, 5);
        Assert.Equal(0.9, hits[1].Distance, 5);
        Assert.Equal(1, index.RowOf(20));
        Assert.Equal(-1, index.RowOf(99));
    }

    [Fact]
    public void KAboveCountIsClippedAndKBelowOneThrows()
    {
        using var gallery = randn(5, 3);
        using var queries = randn(2, 3);
        using var index = EmbeddingIndex.Build(gallery);

        var hits = index.Search(queries, 50);

        Assert.All(hits, h => Assert.Equal(5, h.Length));
        Assert.All(hits, h => Assert.Equal([0L, 1, 2, 3, 4], h.Select(x => x.Id).Order()));
        Assert.Throws<ArgumentOutOfRangeException>(() => index.Search(queries, 0));
    }

    [Fact]
    public void QueryDimensionMismatchNamesBothShapes()
    {
        using var gallery = randn(6, 8);
        using var queries = randn(3, 5);
        using var index = EmbeddingIndex.Build(gallery);

        var ex = Assert.Throws<ArgumentException>(() => index.Search(queries, 2));

        Assert.Contains("[3, 5]", ex.Message);
        Assert.Contains("[6, 8]", ex.Message);
    }

    [Fact]
    public void BadBuildInputsThrowClearly()
    {
        using var gallery = randn(4, 3);
        Assert.Contains("id 7", Assert.Throws<ArgumentException>(() => EmbeddingIndex.Build(gallery, [7, 1, 7, 2])).Message);
        Assert.Contains("ids has 2", Assert.Throws<ArgumentException>(() => EmbeddingIndex.Build(gallery, [1, 2])).Message);
        Assert.Contains("names has 1", Assert.Throws<ArgumentException>(() => EmbeddingIndex.Build(gallery, null, ["x"])).Message);
        using var nan = tensor(new float[,] { { 1, float.NaN } });
        Assert.Contains("NaN", Assert.Throws<ArgumentException>(() => EmbeddingIndex.Build(nan)).Message);
    }

    [Fact]
    public void IndexKeepsItsOwnCopyOfTheEmbeddings()
    {
        using var gallery = zeros(3, 2);
        using var index = EmbeddingIndex.Build(gallery);
        gallery.fill_(5);
        Assert.Equal(0f, index.Embeddings.abs().sum().item<float>());
    }

    [Fact]
    public void BuildsFromANetworkAndADatasetWithTheExtractorsEmbeddings()
    {
        var dataset = SyntheticFineGrainedDataset.Generate(new SyntheticDatasetOptions { ClassCount = 4, ImagesPerClass = 3, ImageSize = 16 });
        manual_seed(3);
        var network = EmbeddingNetworks.MobileNetV1(0.25, 8, new EmbeddingNetworkOptions { SmallInputStem = true });
        var names = Enumerable.Range(0, dataset.Count).Select(i => $"img{i}").ToArray();

        using var index = EmbeddingIndex.Build(network, dataset, names: names, options: new EmbeddingIndexOptions { BatchSize = 5 });
        using var reference = EmbeddingExtractor.Extract(network, dataset);

        Assert.Equal(12, index.Count);
        Assert.Equal(8, index.Dimension);
        Assert.Equal(Enumerable.Range(0, 12).Select(i => (long)i), index.Ids);
        Assert.True(index.Embeddings.allclose(reference.Embeddings, rtol: 1e-5, atol: 1e-6));

        // Every sample searched against the index finds itself first, by its dataset index and name.
        var hits = index.Search(network, dataset, 3, batchSize: 7);
        for (var i = 0; i < 12; i++)
        {
            Assert.Equal(i, hits[i][0].Id);
            Assert.Equal($"img{i}", hits[i][0].Name);
            Assert.True(hits[i][0].Distance < 1e-3);
        }
    }
    [Theory]
    [InlineData(KnnMetric.Euclidean)]
    [InlineData(KnnMetric.Cosine)]
    public void PreparedSearchEqualsTheUnpreparedFunctionBitForBit(KnnMetric metric)
    {
        manual_seed(11);
        using var gallery = randn(300, 16);
        using var queries = randn(37, 16);
        using var index = EmbeddingIndex.Build(gallery, options: new EmbeddingIndexOptions { Metric = metric });
        using var reference = NearestNeighbours.Search(queries, gallery, 5, new KnnOptions { Metric = metric });

        var hits = index.Search(queries, 5);

        var rows = reference.Indices.data<long>().ToArray();
        var distances = reference.Distances.data<float>().ToArray();
        for (var i = 0; i < 37; i++)
            for (var j = 0; j < 5; j++)
            {
                Assert.Equal(rows[i * 5 + j], hits[i][j].Row);
                Assert.Equal(distances[i * 5 + j], (float)hits[i][j].Distance);
            }
    }

    [Fact]
    public void AnIndexBuiltInsideADisposeScopeOutlivesIt()
    {
        EmbeddingIndex index;
        using (NewDisposeScope())
        {
            index = EmbeddingIndex.Build(randn(20, 4), options: new EmbeddingIndexOptions { Metric = KnnMetric.Cosine });
        }
        using (index)
        {
            using var query = index.Embeddings[3].clone();
            Assert.Equal(3, index.Search(query, 1)[0][0].Row);
        }
    }

    [Fact]
    public void NonFiniteQueriesAndIndexFilesAreRejectedByName()
    {
        using var gallery = randn(5, 3);
        using var index = EmbeddingIndex.Build(gallery);
        using var nan = tensor(new float[,] { { 1, float.NaN, 0 } });
        Assert.Contains("NaN", Assert.Throws<ArgumentException>(() => index.Search(nan, 1)).Message);

        var path = Path.Combine(Path.GetTempPath(), $"nan-{Guid.NewGuid():N}.edidx");
        try
        {
            using (var bad = EmbeddingIndex.Build(gallery)) { bad.Embeddings[2][1].fill_(float.NaN); bad.Save(path); }
            var ex = Assert.Throws<InvalidDataException>(() => EmbeddingIndex.Load(path));
            Assert.Contains(path, ex.Message);
            Assert.Contains("NaN", ex.Message);
        }
        finally { File.Delete(path); }
    }
}
