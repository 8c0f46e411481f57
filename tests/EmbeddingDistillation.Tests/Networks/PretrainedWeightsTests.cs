using EmbeddingDistillation.Networks;
using TorchSharp;
using static TorchSharp.torch;
using static EmbeddingDistillation.Tests.Networks.NetworkTestUtil;

namespace EmbeddingDistillation.Tests.Networks;

public class PretrainedWeightsTests
{
    private static void AssertReproducesPyTorch(Backbone backbone, string ioFile)
    {
        var io = PretrainedWeights.ReadStateDict(FixturePath(ioFile));
        backbone.eval();
        using var _ = no_grad();
        var features = backbone.call(io["input"]);
        Assert.Equal(io["features"].shape, features.shape);
        var maxDiff = (features - io["features"]).abs().max().item<float>();
        Assert.True(maxDiff < 1e-5, $"max |C# - PyTorch| on the feature map = {maxDiff}");
        var pooled = features.mean(new long[] { 2, 3 });
        Assert.True((pooled - io["pooled"]).abs().max().item<float>() < 1e-5);
    }

    [Fact]
    public void ResNet18PthFromPyTorchReproducesItsOutput()
    {
        using var scope = NewDisposeScope();
        using var backbone = new ResNetBackbone(18, baseWidth: 8);
        var result = PretrainedWeights.Load(backbone, FixturePath("resnet18_w8.pth"));
        Assert.Equal(backbone.state_dict().Count, result.Loaded.Count);
        Assert.Empty(result.Missing);
        Assert.Equal(7L, backbone.state_dict()["layer3.1.bn2.num_batches_tracked"].item<long>());
        AssertReproducesPyTorch(backbone, "resnet18_w8_io.pth");
    }

    [Fact]
    public void MobileNetV1SafetensorsReproducesPyTorchOutput()
    {
        using var scope = NewDisposeScope();
        using var backbone = new MobileNetV1Backbone(0.25);
        PretrainedWeights.Load(backbone, FixturePath("mobilenetv1_025.safetensors"));
        AssertReproducesPyTorch(backbone, "mobilenetv1_025_io.pth");
    }

    [Fact]
    public void LoadBackboneFillsTheNetworksBackboneAndLeavesTheHead()
    {
        using var scope = NewDisposeScope();
        using var net = EmbeddingNetworks.ResNet18(32, new EmbeddingNetworkOptions { BaseWidth = 8 });
        var head = net.Head.weight!.clone();
        PretrainedWeights.LoadBackbone(net, FixturePath("resnet18_w8.pth"));
        Assert.True(head.equal(net.Head.weight!).all().item<bool>());
        AssertReproducesPyTorch(net.Backbone, "resnet18_w8_io.pth");
    }

    [Fact]
    public void ResNetWeightsIntoMobileNetFailWithKeyLists()
    {
        using var scope = NewDisposeScope();
        using var backbone = new MobileNetV1Backbone(0.25);
        var path = FixturePath("resnet18_w8.pth");
        var ex = Assert.Throws<InvalidDataException>(() => PretrainedWeights.Load(backbone, path));
        Assert.Contains(path, ex.Message);
        Assert.Contains("missing keys", ex.Message);
        Assert.Contains("features.0.0.weight", ex.Message);
        Assert.Contains("unexpected keys", ex.Message);
        Assert.Contains("conv1.weight", ex.Message);
    }

    [Fact]
    public void WrongWidthFailsListingBothShapes()
    {
        using var scope = NewDisposeScope();
        using var backbone = new ResNetBackbone(18, baseWidth: 16);
        var ex = Assert.Throws<InvalidDataException>(() => PretrainedWeights.Load(backbone, FixturePath("resnet18_w8.pth")));
        Assert.Contains("mis-shaped keys", ex.Message);
        Assert.Contains("conv1.weight: file [8, 3, 7, 7] vs module [16, 3, 7, 7]", ex.Message);
    }

    [Fact]
    public void TruncatedStateDictFailsNamingMissingKeys()
    {
        using var scope = NewDisposeScope();
        var dir = Directory.CreateTempSubdirectory("ed-weights-");
        try
        {
            using var full = new ResNetBackbone(18, baseWidth: 8);
            var path = Path.Combine(dir.FullName, "truncated.safetensors");
            // Write all but layer4 in the safetensors format (PyBridge's writer), then load strictly.
            var sd = full.state_dict().Where(kv => !kv.Key.StartsWith("layer4.")).ToDictionary(kv => kv.Key, kv => kv.Value);
            TorchSharp.PyBridge.Safetensors.SaveStateDict(path, sd);
            using var target = new ResNetBackbone(18, baseWidth: 8);
            var ex = Assert.Throws<InvalidDataException>(() => PretrainedWeights.Load(target, path));
            Assert.Contains("missing keys", ex.Message);
            Assert.Contains("layer4.0.conv1.weight", ex.Message);
            Assert.DoesNotContain("unexpected keys", ex.Message);

            var result = PretrainedWeights.Load(target, path, new WeightsLoadOptions { Strict = false });
            Assert.Contains("layer4.1.bn2.weight", result.Missing);
            Assert.True(full.state_dict()["layer3.0.conv1.weight"].equal(target.state_dict()["layer3.0.conv1.weight"]).all().item<bool>());
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void ClassifierKeysAreIgnored()
    {
        using var scope = NewDisposeScope();
        var dir = Directory.CreateTempSubdirectory("ed-weights-");
        try
        {
            using var src = new ResNetBackbone(18, baseWidth: 8);
            var sd = new Dictionary<string, Tensor>(src.state_dict())
            {
                ["fc.weight"] = zeros(10, 64),
                ["fc.bias"] = zeros(10),
            };
            var path = Path.Combine(dir.FullName, "with_fc.safetensors");
            TorchSharp.PyBridge.Safetensors.SaveStateDict(path, sd);
            using var target = new ResNetBackbone(18, baseWidth: 8);
            var result = PretrainedWeights.Load(target, path);
            Assert.Equal(new[] { "fc.bias", "fc.weight" }, result.Ignored);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void OldCheckpointsWithoutNumBatchesTrackedLoadStrictly()
    {
        using var scope = NewDisposeScope();
        var dir = Directory.CreateTempSubdirectory("ed-weights-");
        try
        {
            using var src = new MobileNetV1Backbone(0.25);
            var sd = src.state_dict().Where(kv => !kv.Key.EndsWith(".num_batches_tracked")).ToDictionary(kv => kv.Key, kv => kv.Value);
            var path = Path.Combine(dir.FullName, "old.safetensors");
            TorchSharp.PyBridge.Safetensors.SaveStateDict(path, sd);
            using var target = new MobileNetV1Backbone(0.25);
            var result = PretrainedWeights.Load(target, path);
            Assert.All(result.Missing, k => Assert.EndsWith(".num_batches_tracked", k));
            Assert.Equal(sd.Count, result.Loaded.Count);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void NotAStateDictFailsNamingTheFile()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "not a checkpoint");
            using var backbone = new ResNetBackbone(18, baseWidth: 2);
            var ex = Assert.Throws<InvalidDataException>(() => PretrainedWeights.Load(backbone, path));
            Assert.Contains(path, ex.Message);
            Assert.Throws<FileNotFoundException>(() => PretrainedWeights.Load(backbone, path + ".missing"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void CheckpointRoundTripsAndRejectsOtherArchitectures()
    {
        using var scope = NewDisposeScope();
        var dir = Directory.CreateTempSubdirectory("ed-ckpt-");
        try
        {
            var path = Path.Combine(dir.FullName, "sub", "net.bin");
            using var a = TinyResNet18();
            a.train();
            a.call(Images(2, 32)); // move BN running stats away from their initial values
            NetworkCheckpoint.Save(a, path);
            NetworkCheckpoint.Save(a, path); // overwriting works
            Assert.Single(Directory.GetFiles(Path.GetDirectoryName(path)!));

            using var b = TinyResNet18();
            NetworkCheckpoint.Load(b, path);
            var sa = a.state_dict();
            var sb = b.state_dict();
            Assert.All(sa.Keys, k => Assert.True(sa[k].equal(sb[k]).all().item<bool>(), k));

            using var other = EmbeddingNetworks.MobileNetV1(0.25, 16);
            var ex = Assert.Throws<InvalidDataException>(() => NetworkCheckpoint.Load(other, path));
            Assert.Contains(path, ex.Message);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
