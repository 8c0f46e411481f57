using EmbeddingDistillation.Networks;
using TorchSharp;
using static TorchSharp.torch;
using static EmbeddingDistillation.Tests.Networks.NetworkTestUtil;

namespace EmbeddingDistillation.Tests.Networks;

public class ModuleBackboneTests
{
    private static nn.Module<Tensor, Tensor> Body() => nn.Sequential(
        ("conv", nn.Conv2d(3, 6, 3, stride: 2, padding: 1)),
        ("relu", nn.ReLU()),
        ("conv2", nn.Conv2d(6, 10, 3, stride: 2, padding: 1)));

    [Fact]
    public void InfersChannelsAndStrideByDryRun()
    {
        using var scope = NewDisposeScope();
        using var net = EmbeddingNetworks.FromModuleInferred(Body(), 32, 32, embeddingDimension: 6);
        Assert.Equal(10, net.Backbone.OutputChannels);
        Assert.Equal(new TapInfo("output", 10, 4), net.Taps.Single());
        using var output = net.Embed(Images(3, 32), new[] { "output" });
        Assert.Equal(new long[] { 3, 6 }, output.Embedding.shape);
        Assert.Equal(new long[] { 3, 10, 8, 8 }, output.Feature("output").shape);
        Assert.StartsWith("backbone.module.conv.", net.state_dict().Keys.First());
    }

    [Fact]
    public void NonFourDimensionalOutputThrows()
    {
        var flat = nn.Sequential(("conv", nn.Conv2d(3, 4, 3)), ("flatten", nn.Flatten()));
        var ex = Assert.Throws<ArgumentException>(() => ModuleBackbone.Infer(flat, 16, 16));
        Assert.Contains("[N, C, H, W]", ex.Message);
        Assert.Contains("[1, 784]", ex.Message);

        using var scope = NewDisposeScope();
        using var net = EmbeddingNetworks.FromModule(flat, outputChannels: 4, outputStride: 1);
        var ex2 = Assert.Throws<InvalidOperationException>(() => net.call(Images(2, 16)));
        Assert.Contains("[2, 784]", ex2.Message);
    }

    [Fact]
    public void WrongDeclaredChannelCountThrows()
    {
        using var scope = NewDisposeScope();
        using var net = EmbeddingNetworks.FromModule(Body(), outputChannels: 12, outputStride: 4);
        var ex = Assert.Throws<InvalidOperationException>(() => net.call(Images(1, 16)));
        Assert.Contains("[N, 12, H, W]", ex.Message);
        Assert.Contains("[1, 10, 4, 4]", ex.Message);
    }
}
