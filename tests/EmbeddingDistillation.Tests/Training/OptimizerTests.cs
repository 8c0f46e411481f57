using EmbeddingDistillation.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Tests.Training;

/// <summary>The trainer's optimiser equals TorchSharp's Adam, AdamW and SGD step for step, bit for bit, and round-trips its state.</summary>
public class OptimizerTests
{
    [Theory]
    [InlineData(OptimizerKind.Adam, 2e-4)]
    [InlineData(OptimizerKind.Adam, 0.0)]
    [InlineData(OptimizerKind.AdamW, 1e-2)]
    [InlineData(OptimizerKind.Sgd, 1e-3)]
    public void StepsEqualTorchSharpsBitForBit(OptimizerKind kind, double weightDecay)
    {
        var ours = new TinyNetwork(48, 16, 8, seed: 1);
        var theirs = new TinyNetwork(48, 16, 8, seed: 1);
        var options = new TrainingOptions { Optimizer = kind, LearningRate = 3e-3, WeightDecay = weightDecay, Momentum = 0.9 };
        using var optimizer = Optimizer.Create(options, [new ParameterGroup("all", ours.parameters().ToArray(), 1.0)]);
        using optim.Optimizer reference = kind switch
        {
            OptimizerKind.Adam => optim.Adam(theirs.parameters(), lr: 3e-3, weight_decay: weightDecay),
            OptimizerKind.AdamW => optim.AdamW(theirs.parameters(), lr: 3e-3, weight_decay: weightDecay),
            _ => optim.SGD(theirs.parameters(), 3e-3, momentum: 0.9, weight_decay: weightDecay),
        };
        for (int step = 0; step < 5; step++)
        {
            using var scope = NewDisposeScope();
            var x = randn(new long[] { 16, 3, 4, 4 }, generator: new Generator((ulong)step));
            optimizer.ZeroGrad();
            ours.Embed(x).Embedding.pow(3).sum().backward();
            optimizer.Step();
            reference.zero_grad();
            theirs.Embed(x).Embedding.pow(3).sum().backward();
            reference.step();
        }
        foreach (var ((name, a), (_, b)) in ours.named_parameters().Zip(theirs.named_parameters()))
            Assert.True(a.data<float>().ToArray().SequenceEqual(b.data<float>().ToArray()), $"{kind}: {name} differs from TorchSharp's");
    }

    [Fact]
    public void StateRoundTripsThroughSaveAndLoad()
    {
        var net = new TinyNetwork(48, 16, 8, seed: 1);
        var options = new TrainingOptions { Optimizer = OptimizerKind.Adam, LearningRate = 1e-2 };
        using var a = Optimizer.Create(options, [new ParameterGroup("all", net.parameters().ToArray(), 1.0)]);
        using (var scope = NewDisposeScope())
        {
            net.Embed(randn(4, 3, 4, 4)).Embedding.sum().backward();
            a.Step();
        }
        using var buffer = new MemoryStream();
        using (var w = new BinaryWriter(buffer, System.Text.Encoding.UTF8, leaveOpen: true)) a.Save(w);
        using var b = Optimizer.Create(options, [new ParameterGroup("all", net.parameters().ToArray(), 1.0)]);
        buffer.Position = 0;
        using (var r = new BinaryReader(buffer, System.Text.Encoding.UTF8, leaveOpen: true)) b.Load(r);
        using var again = new MemoryStream();
        using (var w = new BinaryWriter(again, System.Text.Encoding.UTF8, leaveOpen: true)) b.Save(w);
        Assert.Equal(buffer.ToArray(), again.ToArray());

        using var sgd = Optimizer.Create(options with { Optimizer = OptimizerKind.Sgd }, [new ParameterGroup("all", net.parameters().ToArray(), 1.0)]);
        buffer.Position = 0;
        var e = Assert.Throws<InvalidDataException>(() => sgd.Load(new BinaryReader(buffer)));
        Assert.Contains("Adam", e.Message);
    }
}
