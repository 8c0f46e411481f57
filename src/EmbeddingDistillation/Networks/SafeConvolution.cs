using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Networks;

/// <summary>
/// Runs the library's dense convolutions, steering around libtorch CPU kernels that are known to give wrong
/// results: every dense (groups = 1) convolution with a kernel larger than 1x1 whose input or output channel
/// count is not a multiple of <see cref="TrustedChannelMultiple"/> runs as im2col + matmul on the CPU.
/// </summary>
/// <remarks>
/// Why: libtorch 2.10's oneDNN 3.7.1 (TorchSharp 0.107) computes wrong values and NaN, forward and backward-data,
/// in its direct convolution kernels when a channel count is not a multiple of the SIMD block (16 floats on
/// AVX-512, 8 on AVX2/AVX), and in backward-data of stride-2 3x3 convolutions with 48, 80 or 144 input channels;
/// SSE4.1 kernels, the native non-oneDNN path and PyTorch 1.13's oneDNN 2.6 are exact on the same machine
/// (docs/networks.md, "Numerics"). Channel counts that are multiples of 32 were exact in every configuration
/// measured, which covers the standard ResNets (64-2048 channels), and MobileNets use only depthwise and 1x1
/// convolutions past their stem, which are exact. The image stem (at most 4 input channels, input without
/// gradient) stays on the native kernel: its forward pass is exact and it computes no input gradient.
/// Routing changes no weight, key or output: it only chooses the kernel. On other devices (CUDA) nothing changes.
/// </remarks>
internal static class SafeConvolution
{
    /// <summary>Channel counts that are multiples of this run on libtorch's native kernel on the CPU.</summary>
    public const int TrustedChannelMultiple = 32;

    /// <summary>
    /// Set while <see cref="ModelComplexity"/> counts MACs with forward hooks on a zero image: only shapes matter
    /// there, and the hooks fire only when the Conv2d module itself is called.
    /// </summary>
    [ThreadStatic]
    internal static bool NativeOnly;

    /// <summary>
    /// Strided 1x1 convolutions with at least this many input channels whose input needs a gradient run as a
    /// subsampling and a stride-1 1x1 convolution on the CPU (<see cref="Subsampled"/>).
    /// </summary>
    public const int SubsampledInputChannels = 512;

    /// <summary>Computes <c>conv(x)</c>, on a safe path when the native CPU kernel cannot be trusted.</summary>
    /// <param name="conv">The convolution (its weights, stride, padding, dilation, groups).</param>
    /// <param name="x">The input [N, C, H, W].</param>
    public static Tensor Call(Conv2d conv, Tensor x) =>
        NeedsIm2Col(conv, x) ? Im2Col(conv, x) : NeedsSubsampling(conv, x) ? Subsampled(conv, x) : conv.call(x);

    /// <summary>
    /// A ResNet projection shortcut (<c>downsample</c>: a 1x1 Conv2d and a BatchNorm2d, torchvision's layout) with its
    /// convolution run through <see cref="Call"/>; any other Sequential runs as it is.
    /// </summary>
    public static Tensor CallProjection(Sequential projection, Tensor x) =>
        projection.children().ToArray() is [Conv2d conv, nn.Module<Tensor, Tensor> norm] ? norm.call(Call(conv, x)) : projection.call(x);

    /// <summary>
    /// True for a dense strided 1x1 convolution (no padding, no dilation) with at least
    /// <see cref="SubsampledInputChannels"/> input channels whose CPU input needs a gradient.
    /// </summary>
    /// <remarks>
    /// libtorch 2.10's oneDNN (AVX2 and AVX-512 kernels) stops the process with an integer divide error (SIGFPE) in the
    /// backward-data pass of some such convolutions: measured on the AMD EPYC (Zen 5) CI machine, batch 2, 1x1 stride 2
    /// with 512 -> 1024, 1024 -> 2048 and 1024 -> 512 channels (ResNet-50/101's projection shortcuts of layer3 and
    /// layer4), but not 1024 -> 1024, 2048 -> 2048 or any with 256 input channels or fewer, nor at batch 1; AVX and
    /// SSE4.1 kernels and PyTorch 1.13 run them. A 1x1 convolution with stride s equals the stride-1 one on every s-th
    /// row and column, whose kernels run these shapes: the same values, no larger buffer. ResNet-18/34's shortcuts
    /// (at most 256 input channels) keep the native kernel, so their results are unchanged.
    /// </remarks>
    internal static bool NeedsSubsampling(Conv2d conv, Tensor x)
    {
        if (NativeOnly || x.device_type != DeviceType.CPU || conv.groups != 1 || x.dim() != 4 || !x.requires_grad) return false;
        if (conv.in_channels < SubsampledInputChannels || !conv.kernel_size.All(k => k == 1) || conv.stride.All(s => s == 1)) return false;
        if (conv.padding_mode != PaddingModes.Zeros || conv.padding is not { } p || p.Any(v => v != 0) || conv.dilation.Any(d => d != 1)) return false;
        return x.dtype == ScalarType.Float32 || x.dtype == ScalarType.BFloat16 || x.dtype == ScalarType.Float16;
    }

    /// <summary>The strided 1x1 convolution as every s-th row and column and a stride-1 1x1 convolution.</summary>
    internal static Tensor Subsampled(Conv2d conv, Tensor x)
    {
        using var scope = NewDisposeScope();
        long[] s = conv.stride;
        var rows = x.slice(2, 0, x.shape[2], s[0]).slice(3, 0, x.shape[3], s[1]);
        return nn.functional.conv2d(rows, conv.weight, conv.bias).MoveToOuterDisposeScope();
    }

    /// <summary>True when <paramref name="conv"/> on <paramref name="x"/> would hit an untrusted native CPU kernel.</summary>
    internal static bool NeedsIm2Col(Conv2d conv, Tensor x)
    {
        if (NativeOnly || x.device_type != DeviceType.CPU || conv.groups != 1 || x.dim() != 4) return false;
        if (conv.kernel_size.All(k => k == 1)) return false;
        if (conv.padding_mode != PaddingModes.Zeros || conv.padding is null) return false;
        if (x.dtype != ScalarType.Float32 && x.dtype != ScalarType.BFloat16 && x.dtype != ScalarType.Float16) return false;
        bool imageStem = conv.in_channels <= 4 && !x.requires_grad;
        if (imageStem) return false;
        return conv.in_channels % TrustedChannelMultiple != 0 || conv.out_channels % TrustedChannelMultiple != 0;
    }

    /// <summary>
    /// The convolution as unfold (im2col) and one matmul: <c>y[n] = W[Cout, Cin*kh*kw] @ cols[n]</c>. Both ops and
    /// their backward (fold, matmul) are ATen's native CPU kernels; the cost is a [N, Cin*kh*kw, L] buffer.
    /// </summary>
    internal static Tensor Im2Col(Conv2d conv, Tensor x)
    {
        using var scope = NewDisposeScope();
        long n = x.shape[0], h = x.shape[2], w = x.shape[3];
        long[] k = conv.kernel_size, s = conv.stride, p = conv.padding!, d = conv.dilation;
        long outH = (h + 2 * p[0] - d[0] * (k[0] - 1) - 1) / s[0] + 1;
        long outW = (w + 2 * p[1] - d[1] * (k[1] - 1) - 1) / s[1] + 1;
        var cols = nn.functional.unfold(x, (k[0], k[1]), (d[0], d[1]), (p[0], p[1]), (s[0], s[1]));
        var y = conv.weight.view(conv.out_channels, -1).matmul(cols);
        if (conv.bias is { } bias) y = y + bias.view(1, -1, 1);
        return y.view(n, conv.out_channels, outH, outW).MoveToOuterDisposeScope();
    }
}
