using EmbeddingDistillation.Networks;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Tests.Networks;

public class ModelComplexityTests
{
    [Fact]
    public void TinyNetworkMatchesHandCount()
    {
        // conv A: 3->6, 3x3, stride 2, pad 1 on 8x8 -> 4x4; conv B: depthwise 6->6, 3x3, groups 6 -> 4x4; head 6->5.
        var body = nn.Sequential(
            ("a", nn.Conv2d(3, 6, 3, stride: 2, padding: 1, bias: false)),
            ("r", nn.ReLU()),
            ("b", nn.Conv2d(6, 6, 3, padding: 1, groups: 6, bias: true)));
        using var net = EmbeddingNetworks.FromModule(body, outputChannels: 6, outputStride: 2, embeddingDimension: 5);
        long macs = 6 * 4 * 4 * 3 * 9 + 6 * 4 * 4 * 1 * 9 + 6 * 5;
        long parameters = 6 * 3 * 9 + (6 * 1 * 9 + 6) + (6 * 5 + 5);
        var report = ModelComplexity.Measure(net, 8, 8);
        Assert.Equal(parameters, report.Parameters);
        Assert.Equal(macs, report.Macs);
        Assert.True(net.training, "measuring must restore train mode");
    }

    [Fact]
    public void ResNet18MacsMatchPublishedValue()
    {
        // torchvision resnet18: 1.814 GMACs at 224 px including fc (512 * 1000 = 0.512 M).
        using var backbone = new ResNetBackbone(18);
        var macs = ModelComplexity.CountMacs(backbone, 224, 224);
        Assert.InRange(macs + 512_000, 1.80e9, 1.83e9);
    }

    [Fact]
    public void MobileNetV1MatchesThePaper()
    {
        // Howard et al. 2017, Table 8: 1.0 MobileNet-224 has 569 M mult-adds and 4.2 M parameters, both including
        // the 1024 -> 1000 classifier (1.024 M MACs, 1.025 M parameters).
        using var backbone = new MobileNetV1Backbone(1.0);
        Assert.InRange(ModelComplexity.CountMacs(backbone, 224, 224) + 1_024_000, 565e6, 572e6);
        Assert.InRange(ModelComplexity.CountParameters(backbone) + 1_025_000, 4.15e6, 4.25e6);
    }
}
