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
