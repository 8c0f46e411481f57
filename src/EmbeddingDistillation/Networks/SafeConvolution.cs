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

    /// <summary>Computes <c>conv(x)</c>, on the im2col path when the native CPU kernel cannot be trusted.</summary>
    /// <param name="conv">The convolution (its weights, stride, padding, dilation, groups).</param>
    /// <param name="x">The input [N, C, H, W].</param>
    public static Tensor Call(Conv2d conv, Tensor x) => NeedsIm2Col(conv, x) ? Im2Col(conv, x) : conv.call(x);

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
