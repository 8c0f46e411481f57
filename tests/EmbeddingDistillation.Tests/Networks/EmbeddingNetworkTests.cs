using EmbeddingDistillation.Networks;
using TorchSharp;
using static TorchSharp.torch;
using static EmbeddingDistillation.Tests.Networks.NetworkTestUtil;

namespace EmbeddingDistillation.Tests.Networks;

public class EmbeddingNetworkTests
{
    public static TheoryData<string> Families => new()
    {
        "resnet18", "resnet34", "resnet50", "resnet101", "mobilenetv1-0.25", "mobilenetv2-0.25",
    };

    private static EmbeddingNetwork Tiny(string name, int dim, bool normalize = true, bool smallStem = false)
        => EmbeddingNetworks.Create(name, dim, new EmbeddingNetworkOptions { BaseWidth = 2, Normalize = normalize, SmallInputStem = smallStem });

    [Theory]
    [MemberData(nameof(Families))]
    public void EmbeddingHasShapeAndUnitNorm(string family)
    {
        using var scope = NewDisposeScope();
        using var net = Tiny(family, 7);
        // Train mode: a freshly initialised MobileNet in eval mode (BN running stats 0/1) shrinks activations by
        // orders of magnitude (fan_out init of depthwise convs), which tests the init, not the head.
        using var _ = no_grad();
        var e = net.call(Images(3, 32));
        Assert.Equal(new long[] { 3, 7 }, e.shape);
        var norms = e.norm(1);
        Assert.True(allclose(norms, ones_like(norms), rtol: 0, atol: 1e-5), string.Join(", ", norms.data<float>().ToArray()));
    }

    [Fact]
    public void WithoutNormalisationTheNormIsNotOne()
    {
        using var scope = NewDisposeScope();
        using var net = TinyResNet18(dim: 8, normalize: false);
        net.eval();
        using var _ = no_grad();
        var norms = net.call(Images(4, 32, seed: 3)).norm(1);
        Assert.False(allclose(norms, ones_like(norms), rtol: 0, atol: 1e-3));
        Assert.False(net.Normalize);
    }

    [Theory]
    [InlineData("resnet18", false, 64)]
    [InlineData("resnet50", false, 64)]
    [InlineData("resnet18", true, 32)]
    [InlineData("mobilenetv1-0.25", false, 64)]
    [InlineData("mobilenetv1-0.25", true, 32)]
    [InlineData("mobilenetv2-0.25", false, 64)]
    [InlineData("mobilenetv2-0.5", true, 32)]
    public void TapsHaveDeclaredChannelsAndStrides(string family, bool smallStem, int size)
    {
        using var scope = NewDisposeScope();
        using var net = Tiny(family, 5, smallStem: smallStem);
        net.eval();
        using var _ = no_grad();
        using var output = net.Embed(Images(2, size), net.TapNames.ToArray());
        Assert.Equal(net.TapNames.Count, output.Features.Count);
        Assert.Equal(5, net.TapNames.Count);
        foreach (var tap in net.Taps)
        {
            var map = output.Feature(tap.Name);
            Assert.Equal(new long[] { 2, tap.Channels, size / tap.Stride, size / tap.Stride }, map.shape);
        }
        Assert.Equal(net.Backbone.OutputChannels, net.Taps[^1].Channels);
        Assert.Equal(smallStem ? (family.StartsWith("resnet") ? 8 : 16) : 32, net.Taps[^1].Stride);
    }

    [Fact]
    public void TapNamesFollowTheDocumentedScheme()
    {
        using var r = TinyResNet18();
        Assert.Equal(new[] { "stem", "layer1", "layer2", "layer3", "layer4" }, r.TapNames);
        Assert.Equal(new[] { 4, 4, 8, 16, 32 }, r.Taps.Select(t => t.Stride));
        using var m = EmbeddingNetworks.MobileNetV1(0.25, 8);
        Assert.Equal(new[] { "stage1", "stage2", "stage3", "stage4", "stage5" }, m.TapNames);
        Assert.Equal(new[] { 16, 32, 64, 128, 256 }, m.Taps.Select(t => t.Channels));
        Assert.Equal(new[] { 2, 4, 8, 16, 32 }, m.Taps.Select(t => t.Stride));
    }

    [Fact]
    public void OnlyRequestedTapsAreReturned()
    {
        using var scope = NewDisposeScope();
        using var net = TinyResNet18();
        using var output = net.Embed(Images(2, 32), new[] { "layer3" });
        Assert.Equal(new[] { "layer3" }, output.Features.Keys);
        Assert.Empty(net.Embed(Images(2, 32)).Features);
    }

    [Fact]
    public void UnknownTapThrowsListingValidTaps()
    {
        using var scope = NewDisposeScope();
        using var net = TinyResNet18();
        var ex = Assert.Throws<ArgumentException>(() => net.Embed(Images(1, 32), new[] { "layer9" }));
        Assert.Contains("'layer9'", ex.Message);
        Assert.Contains("stem, layer1, layer2, layer3, layer4", ex.Message);
    }

    [Theory]
    [InlineData(new long[] { 2, 1, 32, 32 }, "[2, 1, 32, 32]")]
    [InlineData(new long[] { 3, 32, 32 }, "[3, 32, 32]")]
    public void BadImageShapeThrowsNamingTheShape(long[] shape, string expected)
    {
        using var scope = NewDisposeScope();
        using var net = TinyResNet18();
        var ex = Assert.Throws<ArgumentException>(() => net.Embed(zeros(shape)));
        Assert.Contains(expected, ex.Message);
        Assert.Throws<ArgumentException>(() => net.call(zeros(shape)));
    }

    [Fact]
    public void WrongDtypeThrowsClearly()
    {
        using var scope = NewDisposeScope();
        using var net = TinyResNet18();
        var ex = Assert.Throws<ArgumentException>(() => net.Embed(zeros(new long[] { 1, 3, 32, 32 }, dtype: float64)));
        Assert.Contains("Float64", ex.Message);
    }

    [Fact]
    public void WorksInFloat64()
    {
        using var scope = NewDisposeScope();
        using var net = TinyResNet18();
        net.to(float64);
        var e = net.call(Images(2, 32).to(float64));
        Assert.Equal(float64, e.dtype);
        Assert.Equal(new long[] { 2, 16 }, e.shape);
    }

    [Fact]
    public void TrainModeUpdatesBatchNormStatsEvalModeDoesNot()
    {
        using var scope = NewDisposeScope();
        using var net = TinyResNet18();
        var runningMean = net.state_dict()["backbone.bn1.running_mean"];
        var before = runningMean.clone();

        net.eval();
        using (no_grad())
        {
            var a = net.call(Images(4, 32, seed: 5));
            var b = net.call(Images(4, 32, seed: 5));
            Assert.True(a.equal(b).all().item<bool>(), "eval output must be deterministic");
        }
        Assert.True(before.equal(runningMean).all().item<bool>(), "eval must not change running stats");

        net.train();
        net.call(Images(4, 32, seed: 5));
        Assert.False(before.equal(runningMean).all().item<bool>(), "train must update running stats");
        Assert.Equal(1L, net.state_dict()["backbone.bn1.num_batches_tracked"].item<long>());
    }

    [Fact]
    public void StateDictKeysHaveTorchvisionLayoutUnderBackboneAndHead()
    {
        using var net = EmbeddingNetworks.ResNet50(32, new EmbeddingNetworkOptions { BaseWidth = 2 });
        var keys = net.state_dict().Keys.ToHashSet();
        foreach (var k in new[]
                 {
                     "backbone.conv1.weight", "backbone.bn1.running_var", "backbone.bn1.num_batches_tracked",
                     "backbone.layer1.0.conv3.weight", "backbone.layer1.0.downsample.0.weight", "backbone.layer1.0.downsample.1.running_mean",
                     "backbone.layer3.5.bn3.bias", "backbone.layer4.2.conv2.weight", "head.weight", "head.bias",
                 })
            Assert.Contains(k, keys);
        Assert.DoesNotContain(keys, k => k.Contains("fc.") || k.Contains("maxpool") || k.Contains("relu"));

        using var v2 = EmbeddingNetworks.MobileNetV2(1.0, 8);
        var v2Keys = v2.Backbone.state_dict().Keys.ToHashSet();
        foreach (var k in new[]
                 {
                     "features.0.0.weight", "features.0.1.running_mean", "features.1.conv.0.0.weight", "features.1.conv.1.weight",
                     "features.1.conv.2.running_var", "features.2.conv.0.0.weight", "features.2.conv.1.0.weight",
                     "features.2.conv.2.weight", "features.2.conv.3.bias", "features.18.0.weight", "features.18.1.num_batches_tracked",
                 })
            Assert.Contains(k, v2Keys);
    }

    [Fact]
    public void ParameterCountsMatchTorchvisionWithoutClassifier()
    {
        // torchvision: resnet18 11,689,512 params incl. fc (512*1000+1000); mobilenet_v2 3,504,872 incl. classifier (1280*1000+1000).
        using var r18 = new ResNetBackbone(18);
        Assert.Equal(11_689_512 - 513_000, ModelComplexity.CountParameters(r18));
        using var v2 = new MobileNetV2Backbone(1.0);
        Assert.Equal(3_504_872 - 1_281_000, ModelComplexity.CountParameters(v2));
    }

    [Fact]
    public void SmallInputStemChangesOnlyConv1Shape()
    {
        using var a = new ResNetBackbone(18, baseWidth: 4);
        using var b = new ResNetBackbone(18, baseWidth: 4, smallInputStem: true);
        var sa = a.state_dict();
        var sb = b.state_dict();
        Assert.Equal(sa.Keys, sb.Keys);
        Assert.Equal(new long[] { 4, 3, 7, 7 }, sa["conv1.weight"].shape);
        Assert.Equal(new long[] { 4, 3, 3, 3 }, sb["conv1.weight"].shape);
        Assert.All(sa.Keys.Where(k => k != "conv1.weight"), k => Assert.Equal(sa[k].shape, sb[k].shape));
    }

    [Theory]
    [InlineData(0.25, new[] { 8, 16, 32, 64, 128, 256 })]
    [InlineData(0.5, new[] { 16, 32, 64, 128, 256, 512 })]
    [InlineData(0.1, new[] { 8, 8, 16, 24, 48, 104 })]
    public void MobileNetV1WidthRounding(double width, int[] expected)
    {
        using var m = new MobileNetV1Backbone(width);
        var sd = m.state_dict();
        var channels = new[] { sd["features.0.0.weight"].shape[0] }
            .Concat(m.Taps.Select(t => (long)t.Channels)).Select(c => (int)c).ToArray();
        Assert.Equal(expected, channels);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(double.NaN)]
    public void NonPositiveWidthThrows(double width)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => EmbeddingNetworks.MobileNetV1(width));
        Assert.Throws<ArgumentOutOfRangeException>(() => EmbeddingNetworks.MobileNetV2(width));
    }

    [Theory]
    [InlineData("resnet18", "resnet18-64")]
    [InlineData("ResNet101", "resnet101-64")]
    [InlineData("mobilenetv1-0.25", "mobilenetv1-0.25-64")]
    [InlineData("mobilenetv1_0.75", "mobilenetv1-0.75-64")]
    [InlineData("mobilenetv2", "mobilenetv2-1-64")]
    public void CreateParsesNames(string name, string expected)
    {
        using var net = EmbeddingNetworks.Create(name, 64, new EmbeddingNetworkOptions { BaseWidth = 2 });
        Assert.Equal(expected, net.Name);
        Assert.Equal(64, net.EmbeddingDimension);
    }

    [Theory]
    [InlineData("resnet19")]
    [InlineData("mobilenetv1-abc")]
    [InlineData("mobilenetv3")]
    public void CreateRejectsUnknownNames(string name)
    {
        var ex = Assert.Throws<ArgumentException>(() => EmbeddingNetworks.Create(name));
        Assert.Contains(name, ex.Message);
    }

    [Fact]
    public void HeadIsKaimingFanOutWithZeroBias()
    {
        using var net = EmbeddingNetworks.ResNet18(512, new EmbeddingNetworkOptions { BaseWidth = 64 });
        // fan_out = 512 outputs: std = sqrt(2 / 512) = 0.0625.
        Assert.InRange(net.Head.weight!.std().item<float>(), 0.058, 0.067);
        Assert.Equal(0f, net.Head.bias!.abs().max().item<float>());
    }
}
