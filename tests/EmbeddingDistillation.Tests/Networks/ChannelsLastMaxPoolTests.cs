using EmbeddingDistillation.Networks;
using TorchSharp;
using static TorchSharp.torch;
using static EmbeddingDistillation.Tests.Networks.NetworkTestUtil;

namespace EmbeddingDistillation.Tests.Networks;

/// <summary>
/// The channels-last max-pool gives the module's own output and, from its saved indices, a gradient equal bit for bit
/// to the native backward's, including tied maxima (ReLU zeros, rounded values), NaN and the -inf padding of CNTK's
/// layout, for overlapping and non-overlapping windows.
/// </summary>
public class ChannelsLastMaxPoolTests
{
    public static TheoryData<string, long, long, long, bool, string> Cases() => new()
    {
        { "stem", 3, 2, 1, false, "relu" },
        { "stem", 3, 2, 1, false, "rounded" },
        { "stem", 3, 2, 1, false, "nan" },
        { "stem", 3, 2, 1, false, "random" },
        { "cntk", 3, 2, 0, false, "padded" },
        { "ceil", 3, 2, 0, true, "rounded" },
        { "2x2", 2, 2, 0, false, "rounded" },
        { "stride1", 3, 1, 1, false, "relu" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void SameOutputAndGradientBitsAsTheModule(string name, long kernel, long stride, long padding, bool ceil, string input)
    {
        foreach (var dtype in new[] { ScalarType.Float32, ScalarType.Float64 })
        {
            using var scope = NewDisposeScope();
            using var pool = nn.MaxPool2d(kernel, stride: stride, padding: padding, ceil_mode: ceil);
            var x = Input(input, dtype);
            var upstream = randn(pool.call(x).shape, generator: new Generator(7)).to_type(dtype);

            var native = x.clone().requires_grad_(true);
            var expected = pool.call(native);
            expected.backward([upstream]);

            var fast = x.clone().requires_grad_(true);
            var actual = ChannelsLastMaxPool.Call(pool, fast);
            actual.backward([upstream]);

            Assert.Equal(expected.shape, actual.shape);
            Assert.True(SameBits(expected.detach(), actual.detach()), $"{name}/{input}/{dtype}: outputs differ");
            Assert.True(SameBits(native.grad!, fast.grad!), $"{name}/{input}/{dtype}: gradients differ");
            using (no_grad())
                Assert.True(SameBits(expected.detach(), ChannelsLastMaxPool.Call(pool, x)), $"{name}/{input}/{dtype}: no-grad output differs");
        }
    }

    [Fact]
    public void NonContiguousInputGetsTheModulesGradient()
    {
        using var scope = NewDisposeScope();
        using var pool = nn.MaxPool2d(3, stride: 2, padding: 1);
        var x = randn(2, 9, 8, 3, generator: new Generator(3)).permute(0, 3, 1, 2).requires_grad_(true);
        var y = ChannelsLastMaxPool.Call(pool, x * 2);
        (y.pow(2).sum() + y.sum()).backward();
        var reference = x.detach().clone().requires_grad_(true);
        var yr = pool.call(reference * 2);
        (yr.pow(2).sum() + yr.sum()).backward();
        Assert.True(SameBits(reference.grad!, x.grad!));
    }

    [Fact]
    public void TrainingStepsThroughTheStemLeaveNoLiveTensors()
    {
        using var net = TinyResNet18(dim: 8);
        var optimizer = optim.SGD(net.parameters(), 0.01);
        void Step(int i)
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            using var output = net.Embed(Images(4, 32, seed: i), new[] { "stem" });
            (output.Embedding.pow(2).sum() + output.Feature("stem").mean()).backward();
            optimizer.step();
        }

        Step(0);
        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int i = 1; i <= 10; i++) Step(i);
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    private static Tensor Input(string kind, ScalarType dtype)
    {
        var x = randn(new long[] { 3, 5, 13, 11 }, generator: new Generator(11)).to_type(dtype);
        switch (kind)
        {
            case "relu": return x.relu();
            case "rounded": return (x * 2).round();
            case "nan":
                x[0, 1, 4, 4] = tensor(double.NaN, dtype: dtype);
                x[2, 3, 0, 0] = tensor(double.NaN, dtype: dtype);
                return x.relu();
            case "padded": return nn.functional.pad(x.relu(), new long[] { 1, 0, 1, 0 }, value: double.NegativeInfinity);
            default: return x;
        }
    }

    /// <summary>Equal bit for bit, NaN included (NaN payloads compared as NaN).</summary>
    private static bool SameBits(Tensor a, Tensor b) =>
        a.shape.SequenceEqual(b.shape) && a.isnan().eq(b.isnan()).all().item<bool>()
        && a.nan_to_num(0).eq(b.nan_to_num(0)).all().item<bool>()
        && a.signbit().eq(b.signbit()).all().item<bool>();
}
