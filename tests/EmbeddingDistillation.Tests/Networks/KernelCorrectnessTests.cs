using EmbeddingDistillation.Losses;
using EmbeddingDistillation.Networks;
using TorchSharp;
using TorchSharp.Modules;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Tests.Networks;

/// <summary>
/// The float32 kernels the library's networks run on this machine, checked against float64 (libtorch's native,
/// non-oneDNN kernels): every convolution configuration of the networks the tests, samples and docs use, forward,
/// input gradient and weight gradient, and whole networks end to end. libtorch's oneDNN kernels differ between CPUs
/// (AVX-512, AVX2, ...); .ci/run repeats these tests under each ATEN_CPU_CAPABILITY and ONEDNN_MAX_CPU_ISA.
/// </summary>
public class KernelCorrectnessTests(ITestOutputHelper output)
{
    public static IEnumerable<object[]> Networks() =>
    [
        ["resnet18 base 4, small stem, 32 px", 32],
        ["resnet18 base 8, small stem, 32 px", 32],
        ["resnet18 base 16, small stem, 32 px", 32],
        ["resnet18 base 24, 64 px", 64],
        ["resnet18 base 32, small stem, 32 px", 32],
        ["resnet50 base 8, small stem, 32 px", 32],
        ["resnet50, 64 px", 64],
        ["mobilenetv1-0.25, small stem, 32 px", 32],
        ["mobilenetv1-0.25, 64 px", 64],
        ["mobilenetv2-0.5, small stem, 32 px", 32],
    ];

    private static EmbeddingNetwork Create(string description)
    {
        torch.manual_seed(3);
        var parts = description.Split(", ");
        var name = parts[0].Split(' ')[0];
        int baseWidth = parts[0].Contains("base", StringComparison.Ordinal) ? int.Parse(parts[0].Split(' ')[^1], System.Globalization.CultureInfo.InvariantCulture) : 64;
        return EmbeddingNetworks.Create(name, 16, new EmbeddingNetworkOptions { BaseWidth = baseWidth, SmallInputStem = parts.Contains("small stem") });
    }

    [Theory]
    [MemberData(nameof(Networks))]
    public void EveryConvolutionOfTheNetworkMatchesFloat64ForwardAndBackward(string description, int size)
    {
        using var net = Create(description);
        var layers = ConvolutionInputs(net, size);
        Assert.NotEmpty(layers);
        foreach (var (name, conv, shape, isStem) in layers)
        {
            using var scope = NewDisposeScope();
            var x = randn(shape, generator: new Generator(11));
            var w = conv.weight.detach().clone();
            // The image stem computes no input gradient in training (images need none), exactly as here.
            var x32 = x.clone().requires_grad_(!isStem);
            var y32 = SafeConvolution.Call(conv, x32);
            var g = randn(y32.shape, generator: new Generator(12));
            y32.backward(new[] { g });
            var grad32 = conv.weight.grad!.clone();
            conv.weight.grad!.zero_();

            var x64 = x.to(float64).requires_grad_(!isStem);
            var w64 = w.to(float64).requires_grad_(true);
            var y64 = nn.functional.conv2d(x64, w64, null, conv.stride, conv.padding, conv.dilation, conv.groups);
            y64.backward(new[] { g.to(float64) });

            string config = $"{name}: Conv2d {conv.in_channels}->{conv.out_channels} k{conv.kernel_size[0]} s{conv.stride[0]} groups {conv.groups} on [{string.Join(", ", shape)}]";
            AssertClose(y64, y32, $"{config}, forward");
            AssertClose(w64.grad!, grad32, $"{config}, weight gradient");
            if (!isStem) AssertClose(x64.grad!, x32.grad!, $"{config}, input gradient");
        }
        output.WriteLine($"{description}: {layers.Count} convolutions checked");
    }

    [Theory]
    [MemberData(nameof(Networks))]
    public void TrainingStepGradientsMatchFloat64(string description, int size)
    {
        using var net = Create(description);
        using var net64 = Create(description);
        net64.load_state_dict(net.state_dict());
        net64.to(float64);
        net.train();
        net64.train();
        using var scope = NewDisposeScope();
        var x = randn(new long[] { 16, 3, size, size }, generator: new Generator(5));
        var labels = tensor(Enumerable.Range(0, 16).Select(i => (long)(i / 4)).ToArray());
        var loss = new TripletLoss(0.2);
        var l32 = loss.forward(net.Embed(x).Embedding, labels);
        var l64 = loss.forward(net64.Embed(x.to(float64)).Embedding, labels);
        l32.backward();
        l64.backward();
        Assert.True(Math.Abs(l32.ToDouble() - l64.ToDouble()) <= 1e-4 * Math.Max(1, Math.Abs(l64.ToDouble())),
            $"{description}: loss {l32.ToDouble()} (float32) vs {l64.ToDouble()} (float64)");
        // Whole-network float32 gradients differ from float64 by accumulated rounding, which batch statistics amplify
        // in a freshly initialised deep network: up to 3% here for ResNet-50 base 8 and MobileNetV1 at 64 px, the same
        // with oneDNN limited to SSE4.1, against 1e-5 for the others. A wrong kernel gives errors of order 1 or NaN
        // (0.5 to 10 measured), so each gradient is compared by relative L2 error at 10%, with a floor for the ones
        // that are nearly zero. The per-convolution test above is the precise one.
        var reference = net64.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        double largest = reference.Values.Max(p => p.grad!.norm().ToDouble());
        double worst = 0;
        foreach (var (name, p) in net.named_parameters())
        {
            var g64 = reference[name].grad!;
            double error = (p.grad!.to(float64) - g64).norm().ToDouble();
            double relative = error / Math.Max(g64.norm().ToDouble(), 1e-3 * largest);
            worst = Math.Max(worst, double.IsNaN(relative) ? double.PositiveInfinity : relative);
            Assert.True(relative <= 0.1, $"{description}: gradient of {name}: relative L2 error {relative:G3} (|g64| = {g64.norm().ToDouble():G3}, largest {largest:G3}).");
        }
        output.WriteLine($"{description}: worst relative gradient error {worst:G3}");
    }

    [Fact]
    public void RoutingTakesIm2ColOnlyForUntrustedCpuConfigurations()
    {
        using var scope = NewDisposeScope();
        Conv2d Conv(int cin, int cout, int k, int groups = 1) => nn.Conv2d(cin, cout, k, padding: k / 2, groups: groups, bias: false);
        var x4 = randn(2, 4, 8, 8);
        var x8g = randn(2, 8, 8, 8).requires_grad_(true);
        var x64 = randn(2, 64, 8, 8);
        var x3 = randn(2, 3, 8, 8);
        Assert.True(SafeConvolution.NeedsIm2Col(Conv(8, 8, 3), x8g));        // 8 channels: untrusted
        Assert.True(SafeConvolution.NeedsIm2Col(Conv(64, 48, 3), x64));      // 48 output channels: untrusted
        Assert.False(SafeConvolution.NeedsIm2Col(Conv(64, 64, 3), x64));     // multiples of 32: native
        Assert.False(SafeConvolution.NeedsIm2Col(Conv(8, 8, 1), x8g));       // 1x1: native (exact)
        Assert.False(SafeConvolution.NeedsIm2Col(Conv(8, 8, 3, groups: 8), x8g)); // depthwise: native (exact)
        Assert.False(SafeConvolution.NeedsIm2Col(Conv(3, 8, 3), x3));        // image stem without input gradient
        Assert.True(SafeConvolution.NeedsIm2Col(Conv(3, 8, 3), x3.requires_grad_(true)));
        Assert.True(SafeConvolution.NeedsIm2Col(Conv(4, 4, 3), x4.requires_grad_(true)));
        Assert.False(SafeConvolution.NeedsIm2Col(Conv(8, 8, 3).to(float64), x8g.detach().to(float64))); // float64: native kernels
    }

    [Theory]
    [InlineData(512, 1024, 8)]
    [InlineData(1024, 2048, 4)]
    [InlineData(1024, 512, 4)]
    public void StridedProjectionsWithManyChannelsRunSubsampledAndMatchFloat64(int cin, int cout, int size)
    {
        // These shapes stopped the process (SIGFPE in oneDNN's backward-data, AVX2 and AVX-512) before the routing.
        using var scope = NewDisposeScope();
        var conv = nn.Conv2d(cin, cout, 1, stride: 2, bias: false);
        var x = randn(new long[] { 2, cin, size, size }, generator: new Generator(7));
        var x32 = x.clone().requires_grad_(true);
        Assert.True(SafeConvolution.NeedsSubsampling(conv, x32));
        Assert.False(SafeConvolution.NeedsSubsampling(conv, x));                                          // no input gradient: native
        Assert.False(SafeConvolution.NeedsSubsampling(nn.Conv2d(256, 512, 1, stride: 2, bias: false), x32)); // ResNet-18's widest: native
        Assert.False(SafeConvolution.NeedsSubsampling(nn.Conv2d(cin, cout, 1, bias: false), x32));          // stride 1: native
        var y32 = SafeConvolution.Call(conv, x32);
        var g = randn(y32.shape, generator: new Generator(8));
        y32.backward(new[] { g });
        var x64 = x.to(float64).requires_grad_(true);
        var w64 = conv.weight.detach().to(float64).requires_grad_(true);
        var y64 = nn.functional.conv2d(x64, w64, null, conv.stride);
        y64.backward(new[] { g.to(float64) });
        AssertClose(y64, y32, $"1x1 s2 {cin}->{cout}, forward");
        AssertClose(x64.grad!, x32.grad!, $"1x1 s2 {cin}->{cout}, input gradient");
        AssertClose(w64.grad!, conv.weight.grad!, $"1x1 s2 {cin}->{cout}, weight gradient");
    }

    [Fact]
    public void Im2ColPathEqualsConvolutionWithStrideDilationAndBias()
    {
        using var scope = NewDisposeScope();
        var conv = nn.Conv2d(6, 10, (3, 5), stride: (2, 1), padding: (1, 2), dilation: (2, 1), bias: true).to(float64);
        var x = randn(3, 6, 11, 9, dtype: float64);
        var expected = nn.functional.conv2d(x, conv.weight, conv.bias, conv.stride, conv.padding, conv.dilation);
        AssertClose(expected, SafeConvolution.Im2Col(conv, x), "im2col vs conv2d", tolerance: 1e-12);
    }

    /// <summary>Runs the network once on a zero batch and records every convolution's input shape.</summary>
    private static List<(string Name, Conv2d Conv, long[] Shape, bool IsStem)> ConvolutionInputs(EmbeddingNetwork net, int size)
    {
        var found = new List<(string, Conv2d, long[], bool)>();
        var removers = new List<Action>();
        foreach (var (name, module) in net.named_modules())
            if (module is Conv2d conv)
                removers.Add(conv.register_forward_pre_hook((_, input) =>
                {
                    found.Add((name, conv, new[] { 16L, input.shape[1], input.shape[2], input.shape[3] }, found.Count == 0));
                    return input;
                }).remove);
        bool nativeOnly = SafeConvolution.NativeOnly;
        try
        {
            SafeConvolution.NativeOnly = true; // hooks see every Conv2d only when the module itself runs
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            net.eval();
            net.Embed(zeros(2, 3, size, size));
        }
        finally
        {
            SafeConvolution.NativeOnly = nativeOnly;
            foreach (var r in removers) r();
        }
        return found;
    }

    private static void AssertClose(Tensor expected64, Tensor actual, string what, double tolerance = 1e-4)
    {
        var e = expected64.to(float64);
        var a = actual.to(float64);
        double scale = Math.Max(1e-6, e.abs().max().ToDouble());
        double error = (a - e).abs().max().ToDouble();
        Assert.True(error <= tolerance * scale,
            $"{what}: max |float32 - float64| = {error:G3} against a scale of {scale:G3} (tolerance {tolerance:G2} relative). " +
            "libtorch's kernel for this configuration is wrong on this CPU; see docs/networks.md, Numerics.");
    }
}
