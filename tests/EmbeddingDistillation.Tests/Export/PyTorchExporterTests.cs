using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using EmbeddingDistillation.Export;
using EmbeddingDistillation.Networks;
using EmbeddingDistillation.Tests.Training;
using TorchSharp;
using TorchSharp.Modules;
using static EmbeddingDistillation.Tests.Export.OnnxTestUtil;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Tests.Export;

public class PyTorchExporterTests : IDisposable
{
    private readonly DirectoryInfo dir = Directory.CreateTempSubdirectory("ed-pytorch-export-");

    public void Dispose() => dir.Delete(recursive: true);

    public static TheoryData<string, bool, string> Cases => new()
    {
        { "resnet18", true, ".safetensors" },
        { "resnet18", false, ".pth" },
        { "resnet50", true, ".safetensors" },
        { "mobilenetv1-0.25", true, ".safetensors" },
        { "mobilenetv1-0.25", true, ".pt" },
        { "mobilenetv2-0.5", false, ".safetensors" },
        { "mobilenetv2-0.5", true, ".pth" },
    };

    private static EmbeddingNetwork Build(string family, bool smallStem, int dim = 24) =>
        EmbeddingNetworks.Create(family, dim, new EmbeddingNetworkOptions { BaseWidth = 8, SmallInputStem = smallStem });

    private static Tensor EvalOutput(EmbeddingNetwork net, Tensor images)
    {
        using var _ = no_grad();
        net.eval();
        return net.call(images);
    }

    /// <summary>
    /// Save, then load with <see cref="PretrainedWeights"/> into a fresh network initialised differently (other
    /// weights, other BatchNorm statistics): every entry is loaded and the eval-mode outputs are bit-identical.
    /// </summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void RoundTripThroughPretrainedWeightsGivesIdenticalOutputs(string family, bool smallStem, string extension)
    {
        using var scope = NewDisposeScope();
        int size = smallStem ? 32 : 64;
        using var source = Build(family, smallStem);
        RandomizeBatchNorm(source, size, seed: 1);
        using var target = Build(family, smallStem);
        RandomizeBatchNorm(target, size, seed: 2);
        using (no_grad()) target.call(Images(2, size, seed: 6)); // a third train-mode batch: num_batches_tracked 3, not 2
        var images = Images(3, size, seed: 5);
        var expected = EvalOutput(source, images);
        Assert.False(expected.equal(EvalOutput(target, images)).all().item<bool>());

        var path = Path.Combine(dir.FullName, family + extension);
        var summary = PyTorchExporter.Export(source, path);
        Assert.Equal(extension == ".safetensors" ? "safetensors" : "pth", summary.Format);
        Assert.Equal(new FileInfo(path).Length, summary.Bytes);

        var result = PretrainedWeights.Load(target, path);
        var sd = source.state_dict();
        Assert.Equal(sd.Keys.OrderBy(k => k, StringComparer.Ordinal), result.Loaded.OrderBy(k => k, StringComparer.Ordinal));
        Assert.Equal(sd.Keys.OrderBy(k => k, StringComparer.Ordinal), summary.Keys);
        Assert.Empty(result.Missing);
        Assert.Equal(sd.Values.Sum(t => t.NumberOfElements), summary.ValueCount);
        var loaded = target.state_dict();
        Assert.All(sd.Keys, k => Assert.True(sd[k].equal(loaded[k]).all().item<bool>(), k));
        Assert.Equal(2L, loaded.First(kv => kv.Key.EndsWith(".num_batches_tracked", StringComparison.Ordinal)).Value.item<long>());
        Assert.True(expected.equal(EvalOutput(target, images)).all().item<bool>(), $"{family}: outputs differ after the round trip");
    }

    private sealed record Entry(string Key, string Dtype, long[] Shape, long Begin, long End);

    private static (List<Entry> Entries, Dictionary<string, string> Metadata, long DataStart, int HeaderLength) ReadHeader(byte[] file)
    {
        var n = BinaryPrimitives.ReadUInt64LittleEndian(file);
        Assert.True(n < (ulong)file.Length, $"header length {n} beyond the file ({file.Length} bytes)");
        using var doc = JsonDocument.Parse(Encoding.UTF8.GetString(file, 8, (int)n));
        var entries = new List<Entry>();
        var metadata = new Dictionary<string, string>();
        foreach (var p in doc.RootElement.EnumerateObject())
        {
            if (p.Name == "__metadata__")
            {
                foreach (var m in p.Value.EnumerateObject()) metadata[m.Name] = m.Value.GetString()!;
                continue;
            }
            Assert.Equal(new[] { "data_offsets", "dtype", "shape" }, p.Value.EnumerateObject().Select(q => q.Name).Order(StringComparer.Ordinal));
            var offsets = p.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            Assert.Equal(2, offsets.Length);
            entries.Add(new Entry(p.Name, p.Value.GetProperty("dtype").GetString()!,
                p.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray(), offsets[0], offsets[1]));
        }
        return (entries, metadata, 8 + (long)n, (int)n);
    }

    [Fact]
    public void SafetensorsHeaderListsTheStateDictWithContiguousOffsets()
    {
        using var scope = NewDisposeScope();
        using var net = Build("resnet18", smallStem: true, dim: 12);
        RandomizeBatchNorm(net, 32, seed: 3);
        var path = Path.Combine(dir.FullName, "net.safetensors");
        var summary = PyTorchExporter.Export(net, path);
        var file = File.ReadAllBytes(path);
        var (entries, metadata, dataStart, headerLength) = ReadHeader(file);

        Assert.Equal(0, headerLength % 8);
        Assert.Equal(0, dataStart % 8);
        var sd = net.state_dict();
        Assert.Equal(sd.Keys.OrderBy(k => k, StringComparer.Ordinal), entries.Select(e => e.Key)); // sorted, complete
        long expectedBegin = 0;
        foreach (var e in entries)
        {
            var t = sd[e.Key];
            Assert.Equal(e.Key.EndsWith(".num_batches_tracked", StringComparison.Ordinal) ? "I64" : "F32", e.Dtype);
            Assert.Equal(t.shape, e.Shape);
            Assert.Equal(expectedBegin, e.Begin);
            Assert.Equal(t.NumberOfElements * (e.Dtype == "I64" ? 8 : 4), e.End - e.Begin);
            expectedBegin = e.End;
        }
        Assert.Equal(file.Length - dataStart, expectedBegin);
        Assert.Contains(entries, e => e.Key == "backbone.bn1.num_batches_tracked" && e.Shape.Length == 0);

        // The bytes are the values, little-endian.
        var head = entries.Single(e => e.Key == "head.weight");
        var values = new float[(head.End - head.Begin) / 4];
        for (int i = 0; i < values.Length; i++)
            values[i] = BinaryPrimitives.ReadSingleLittleEndian(file.AsSpan((int)(dataStart + head.Begin) + 4 * i));
        Assert.Equal(net.Head.weight!.data<float>().ToArray(), values);
        var tracked = entries.Single(e => e.Key == "backbone.layer2.0.bn1.num_batches_tracked");
        Assert.Equal(2L, BinaryPrimitives.ReadInt64LittleEndian(file.AsSpan((int)(dataStart + tracked.Begin))));

        Assert.Equal(summary.Metadata, metadata);
        Assert.Equal("pt", metadata["format"]);
        Assert.Equal("resnet18-12", metadata["network"]);
        Assert.Equal("resnet18", metadata["architecture"]);
        Assert.Equal("12", metadata["embedding_dim"]);
        Assert.Equal("true", metadata["normalize"]);
        Assert.Equal("8", metadata["base_width"]);
        Assert.Equal("64", metadata["backbone_channels"]);
        Assert.Equal("true", metadata["small_input_stem"]);
        Assert.False(metadata.ContainsKey("torchvision_model")); // torchvision's ResNets have base width 64
        Assert.StartsWith("EmbeddingDistillation ", metadata["producer"], StringComparison.Ordinal);
    }

    [Fact]
    public void MetadataNamesTorchvisionsMobileNetV2AndTheWidth()
    {
        using var scope = NewDisposeScope();
        using var net = EmbeddingNetworks.MobileNetV2(0.5, 16, new EmbeddingNetworkOptions { Normalize = false });
        var path = Path.Combine(dir.FullName, "v2.safetensors");
        PyTorchExporter.Export(net, path);
        var metadata = ReadHeader(File.ReadAllBytes(path)).Metadata;
        Assert.Equal("mobilenetv2", metadata["architecture"]);
        Assert.Equal("mobilenet_v2", metadata["torchvision_model"]);
        Assert.Equal("0.5", metadata["width"]);
        Assert.Equal("false", metadata["normalize"]);
        Assert.Equal("1280", metadata["backbone_channels"]);
        Assert.False(metadata.ContainsKey("base_width"));
    }

    [Fact]
    public void Float64NetworkIsStoredAsFloat32()
    {
        using var scope = NewDisposeScope();
        using var net = Build("mobilenetv1-0.25", smallStem: true);
        net.to(ScalarType.Float64);
        var path = Path.Combine(dir.FullName, "f64.safetensors");
        PyTorchExporter.Export(net, path);
        var entries = ReadHeader(File.ReadAllBytes(path)).Entries;
        Assert.All(entries, e => Assert.Contains(e.Dtype, new[] { "F32", "I64" }));

        using var target = Build("mobilenetv1-0.25", smallStem: true);
        PretrainedWeights.Load(target, path);
        Assert.True(net.Head.weight!.to(ScalarType.Float32).equal(target.Head.weight!).all().item<bool>());
        Assert.Equal(ScalarType.Float64, net.Head.weight!.dtype); // the network itself is not converted
    }

    [Fact]
    public void AnyEmbeddingNetworkExportsItsModulesKeys()
    {
        using var scope = NewDisposeScope();
        using var net = new TinyNetwork(12, 6, 4, seed: 1);
        var path = Path.Combine(dir.FullName, "tiny.safetensors");
        var summary = PyTorchExporter.Export(net, path);
        Assert.Equal(new[] { "body.bias", "body.weight", "head.bias", "head.weight" }, summary.Keys);
        Assert.Equal("tiny", summary.Metadata["network"]);
        Assert.Equal("4", summary.Metadata["embedding_dim"]);
        Assert.False(summary.Metadata.ContainsKey("architecture"));

        using var other = new TinyNetwork(12, 6, 4, seed: 2);
        PretrainedWeights.Load(other, path);
        Assert.True(net.state_dict()["body.weight"].equal(other.state_dict()["body.weight"]).all().item<bool>());
    }

    [Fact]
    public void RefusesNullsBadPathsAndUnsupportedDtypesNamingTheFault()
    {
        using var scope = NewDisposeScope();
        using var net = Build("mobilenetv1-0.25", smallStem: true);
        Assert.Equal("network", Assert.Throws<ArgumentNullException>(() => PyTorchExporter.Export(null!, Path.Combine(dir.FullName, "a.safetensors"))).ParamName);
        Assert.Equal("path", Assert.Throws<ArgumentNullException>(() => PyTorchExporter.Export(net, null!)).ParamName);
        Assert.Equal("path", Assert.Throws<ArgumentException>(() => PyTorchExporter.Export(net, "  ")).ParamName);

        var wrong = Path.Combine(dir.FullName, "weights.bin");
        var ex = Assert.Throws<ArgumentException>(() => PyTorchExporter.Export(net, wrong));
        Assert.Contains(wrong, ex.Message);
        Assert.Contains(".safetensors", ex.Message);
        Assert.Contains(".pth", ex.Message);

        var folder = Directory.CreateDirectory(Path.Combine(dir.FullName, "folder.safetensors")).FullName;
        ex = Assert.Throws<ArgumentException>(() => PyTorchExporter.Export(net, folder));
        Assert.Contains(folder, ex.Message);
        Assert.Contains("folder", ex.Message);

        // A buffer PyTorch's state dicts of these networks never hold: refused by name, nothing written.
        var path = Path.Combine(dir.FullName, "net.safetensors");
        PyTorchExporter.Export(net, path);
        var before = File.ReadAllBytes(path);
        net.Head.register_buffer("flags", zeros(3, dtype: ScalarType.Int32));
        var unsupported = Assert.Throws<NotSupportedException>(() => PyTorchExporter.Export(net, path));
        Assert.Contains("head.flags", unsupported.Message);
        Assert.Contains("Int32", unsupported.Message);
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal(new[] { "folder.safetensors", "net.safetensors" },
            dir.EnumerateFileSystemInfos().Select(f => f.Name).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData(".safetensors")]
    [InlineData(".pth")]
    public void WritesAtomicallyIntoNewFoldersLeavingNoTemporaryFile(string extension)
    {
        using var scope = NewDisposeScope();
        using var net = Build("mobilenetv1-0.25", smallStem: true);
        var path = Path.Combine(dir.FullName, "sub", "dir", "student" + extension);
        PyTorchExporter.Export(net, path);
        var first = File.ReadAllBytes(path);
        RandomizeBatchNorm(net, 32, seed: 4);
        PyTorchExporter.Export(net, path); // overwrites
        Assert.NotEqual(first, File.ReadAllBytes(path));
        Assert.Equal(new[] { "student" + extension }, Directory.GetFiles(Path.GetDirectoryName(path)!).Select(Path.GetFileName));
    }
}
