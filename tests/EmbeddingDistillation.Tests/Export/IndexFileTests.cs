using EmbeddingDistillation.Evaluation;
using EmbeddingDistillation.Export;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Tests.Export;

public sealed class IndexFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ed-index-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Saved(bool names = true, ScalarType dtype = ScalarType.Float32, KnnMetric metric = KnnMetric.Euclidean)
    {
        manual_seed(5);
        using var gallery = randn(20, 6, dtype: dtype);
        var ids = Enumerable.Range(0, 20).Select(i => -5L + 1_000_000_007L * i).ToArray();
        var labels = names ? Enumerable.Range(0, 20).Select(i => $"images/ü{i}/年.png").ToArray() : null;
        using var index = EmbeddingIndex.Build(gallery, ids, labels, new EmbeddingIndexOptions { Metric = metric });
        var path = Path.Combine(_dir, "sub", "index.edidx");
        index.Save(path);
        return path;
    }

    private static InvalidDataException LoadFails(string path)
    {
        var ex = Assert.Throws<InvalidDataException>(() => EmbeddingIndex.Load(path).Dispose());
        Assert.Contains(path, ex.Message);
        return ex;
    }

    [Theory]
    [InlineData(true, ScalarType.Float32, KnnMetric.Euclidean)]
    [InlineData(false, ScalarType.Float64, KnnMetric.Cosine)]
    public void RoundTripIsBitExactWithIdsNamesAndMetric(bool names, ScalarType dtype, KnnMetric metric)
    {
        manual_seed(5);
        using var gallery = randn(20, 6, dtype: dtype);
        var ids = Enumerable.Range(0, 20).Select(i => -5L + 1_000_000_007L * i).ToArray();
        var labels = names ? Enumerable.Range(0, 20).Select(i => $"images/ü{i}/年.png").ToArray() : null;
        using var index = EmbeddingIndex.Build(gallery, ids, labels, new EmbeddingIndexOptions { Metric = metric });
        var path = Path.Combine(_dir, "round.edidx");
        index.Save(path);

        using var loaded = EmbeddingIndex.Load(path);

        Assert.Equal(dtype, loaded.Embeddings.dtype);
        Assert.Equal(metric, loaded.Metric);
        Assert.Equal(ids, loaded.Ids);
        Assert.Equal(labels, loaded.Names);
        Assert.Equal(index.Embeddings.bytes.ToArray(), loaded.Embeddings.bytes.ToArray());
        using var queries = randn(4, 6, dtype: dtype);
        Assert.Equal(index.Search(queries, 5).SelectMany(h => h), loaded.Search(queries, 5).SelectMany(h => h));
    }

    [Fact]
    public void SaveOverwritesAtomicallyWithoutLeavingTemporaryFiles()
    {
        var path = Saved();
        var first = File.ReadAllBytes(path);
        using (var other = EmbeddingIndex.Build(ones(2, 3)))
            other.Save(path);

        Assert.NotEqual(first, File.ReadAllBytes(path));
        Assert.Equal([path], Directory.GetFiles(Path.GetDirectoryName(path)!));
        using var loaded = EmbeddingIndex.Load(path);
        Assert.Equal(2, loaded.Count);
    }

    [Fact]
    public void TruncatedFilesFailClearly()
    {
        var path = Saved();
        var bytes = File.ReadAllBytes(path);
        // Inside the magic, the header, the ids, the names, the data, and the checksum.
        foreach (var cut in new[] { 0, 5, 20, 40, 200, bytes.Length - 100, bytes.Length - 1 })
        {
            File.WriteAllBytes(path, bytes[..cut]);
            var ex = LoadFails(path);
            Assert.True(ex.Message.Contains("truncated") || ex.Message.Contains("damaged"), $"cut {cut}: {ex.Message}");
        }
    }

    [Fact]
    public void EveryFlippedByteIsDetected()
    {
        var path = Saved();
        var bytes = File.ReadAllBytes(path);
        // Every byte of a small file: magic, version, flags, sizes, ids, names, data and the checksum itself.
        for (var at = 0; at < bytes.Length; at += 3)
        {
            var damaged = (byte[])bytes.Clone();
            damaged[at] ^= 0x10;
            File.WriteAllBytes(path, damaged);
            LoadFails(path);
        }
        var dataByte = (byte[])bytes.Clone();
        dataByte[bytes.Length - 40] ^= 1;
        File.WriteAllBytes(path, dataByte);
        Assert.Contains("checksum mismatch", LoadFails(path).Message);
    }

    [Fact]
    public void ForeignFileIsRejectedByItsMagic()
    {
        var path = Path.Combine(_dir, "not-an-index.png");
        File.WriteAllBytes(path, [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A, .. new byte[100]]);
        Assert.Contains("not an EmbeddingDistillation index", LoadFails(path).Message);
        File.WriteAllText(path, "id,embedding\n1,0.5\n");
        Assert.Contains("not an EmbeddingDistillation index", LoadFails(path).Message);
    }

    [Fact]
    public void OtherFormatVersionIsRejectedByName()
    {
        var path = Saved(names: false);
        var bytes = File.ReadAllBytes(path);
        bytes[8] = 2;
        File.WriteAllBytes(path, bytes);
        Assert.Contains("format version 2 is not supported", LoadFails(path).Message);
    }

    [Fact]
    public void TrailingBytesAreRejected()
    {
        foreach (var names in new[] { false, true })
        {
            var path = Saved(names);
            File.AppendAllText(path, "x");
            LoadFails(path);
        }
    }

    [Fact]
    public void MissingFileThrowsFileNotFound()
    {
        Assert.Throws<FileNotFoundException>(() => EmbeddingIndex.Load(Path.Combine(_dir, "missing.edidx")));
    }
}
