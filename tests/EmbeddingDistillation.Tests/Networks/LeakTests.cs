using TorchSharp;
using static TorchSharp.torch;
using static EmbeddingDistillation.Tests.Networks.NetworkTestUtil;

namespace EmbeddingDistillation.Tests.Networks;

public class LeakTests
{
    [Fact]
    public void TwentyTrainingStepsLeaveNoLiveTensors()
    {
        using var net = TinyResNet18(dim: 8, smallStem: true);
        var optimizer = optim.SGD(net.parameters(), 0.01);
        void Step(int i)
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            using var output = net.Embed(Images(4, 16, seed: i), new[] { "layer2" });
            var loss = output.Embedding.pow(2).sum() + output.Feature("layer2").mean();
            loss.backward();
            optimizer.step();
        }

        Step(0); // warm-up: lazily created state (gradients) exists from here on
        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int i = 1; i <= 20; i++) Step(i);
        var after = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        Assert.Equal(before, after);
    }
}

/// <summary>
/// Each block frees its intermediates when it returns (<c>BlockScope</c>): a forward pass leaves in the caller's
/// dispose scope only the stem's and stages' outputs and the head's few tensors, not every convolution and
/// batch-norm output of the pass (a ResNet-101 at 224 px, batch 32, held 6.3 GB that way).
/// </summary>
public class BlockScopeTests
{
    [Theory]
    [InlineData("resnet18")]
    [InlineData("resnet50")]
    [InlineData("mobilenetv1-0.25")]
    [InlineData("mobilenetv2")]
    public void AForwardPassLeavesOnlyStageOutputsInTheCallersScope(string name)
    {
        using var net = EmbeddingDistillation.Networks.EmbeddingNetworks.Create(name, 8,
            new EmbeddingDistillation.Networks.EmbeddingNetworkOptions { BaseWidth = 16, SmallInputStem = true });
        foreach (var train in new[] { false, true })
        {
            net.train(train);
            using var scope = NewDisposeScope();
            using var images = Images(2, 32, seed: 1);
            var countBefore = scope.DisposablesCount;
            var embedding = net.Embed(images).Embedding;
            if (train) embedding.sum().backward();
            // Stem + up to 8 stages + the head's pooling, linear and normalisation: well under 20; one tensor per layer
            // (dozens) means a block's intermediates escaped.
            Assert.True(scope.DisposablesCount - countBefore < 20,
                $"{name} ({(train ? "train" : "eval")}): the forward pass left {scope.DisposablesCount - countBefore} tensors in the caller's scope");
        }
    }
}
