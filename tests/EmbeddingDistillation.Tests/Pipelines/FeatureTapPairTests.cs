using EmbeddingDistillation.Networks;
using EmbeddingDistillation.Samples.PaperPipelines;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Tests.Pipelines;

public class FeatureTapPairTests
{
    [Fact]
    public void HintTapsHaveMatchingStrides()
    {
        // Base width 4 keeps the ResNet-101 tiny; taps and strides do not depend on the width.
        using var teacher = EmbeddingNetworks.ResNet101(8, new EmbeddingNetworkOptions { BaseWidth = 4 });
        using var mobile = EmbeddingNetworks.MobileNetV1(0.25, 8);
        using var resnet18 = EmbeddingNetworks.ResNet18(8, new EmbeddingNetworkOptions { BaseWidth = 4 });

        var pair = FeatureTapPair.Select(teacher, mobile, null);
        Assert.Equal(("layer3", 16), (pair.Teacher.Name, pair.Teacher.Stride));
        Assert.Equal(("stage4", 16, 128), (pair.Student.Name, pair.Student.Stride, pair.Student.Channels));
        Assert.Equal(("layer3", 16), (FeatureTapPair.Select(teacher, resnet18, null).Student.Name, 16));

        var explicitPair = FeatureTapPair.Select(teacher, mobile, "layer2:stage3");
        Assert.Equal(("layer2", "stage3"), (explicitPair.Teacher.Name, explicitPair.Student.Name));
        var e = Assert.Throws<ArgumentException>(() => FeatureTapPair.Select(teacher, mobile, "layer3:stage9"));
        Assert.Contains("stage1, stage2, stage3, stage4, stage5", e.Message);

        // The same spatial size at 224 px: 14 x 14 on both sides.
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        teacher.eval(); mobile.eval();
        var x = randn(1, 3, 224, 224);
        var t = teacher.Embed(x, ["layer3"]).Feature("layer3");
        var s = mobile.Embed(x, ["stage4"]).Feature("stage4");
        Assert.Equal(t.shape[2..], s.shape[2..]);
        Assert.Equal(14, t.shape[2]);
    }
}
