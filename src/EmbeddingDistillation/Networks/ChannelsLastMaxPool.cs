using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static EmbeddingDistillation.Primitives.ModuleArguments;

namespace EmbeddingDistillation.Networks;

/// <summary>
/// Runs a <see cref="MaxPool2d"/> on the CPU through libtorch's channels-last kernel, with the same output, the same
/// indices and a gradient equal bit for bit to the module's own.
/// </summary>
/// <remarks>
/// Why: libtorch's CPU max-pool kernel for NCHW tensors is scalar; its channels-last kernel is vectorised over the
/// channels. The ResNet stem's 3x3 stride-2 pool over a [32, 64, 112, 112] batch took 108 ms forward on 2 threads
/// (PyTorch 1.13: 84 ms), more than the 7x7 stem convolution; copying the input to channels-last strides, pooling there
/// and copying the (4x smaller) output back takes 25 ms (measured 2026-12-03, docs/networks.md). The backward is the
/// native one's arithmetic: each output's gradient is added into the input position its index names, output by output
/// in raster order per (sample, channel) plane, so overlapping windows sum in the same order (scatter_add_ along the
/// flattened plane; the channels-last kernel's own backward is 10x slower than this). Max is exact and both kernels keep
/// the first index of tied maxima and propagate NaN, so output and indices are identical (the tests compare output and gradient bit for bit; a one-off check compared
/// the indices of both kernels too).
/// Other devices, other dtypes, inputs that are not 4-D and hooked MAC counting use the module itself.
/// </remarks>
internal static class ChannelsLastMaxPool
{
    /// <summary>Computes <c>pool(x)</c>; on the CPU through the channels-last kernel.</summary>
    /// <param name="pool">The max-pool (kernel, stride, padding, dilation, ceil mode).</param>
    /// <param name="x">The input [N, C, H, W].</param>
    public static Tensor Call(MaxPool2d pool, Tensor x)
    {
        if (SafeConvolution.NativeOnly || x.device_type != DeviceType.CPU || x.dim() != 4
            || (x.dtype != ScalarType.Float32 && x.dtype != ScalarType.Float64))
            return pool.call(x);
        if (!(x.requires_grad && is_grad_enabled()))
        {
            using var scope = NewDisposeScope();
            return nn.functional.max_pool2d(ToChannelsLast(x), Kernel(pool), Stride(pool), Padding(pool), Dilation(pool), pool.ceil_mode)
                .contiguous().MoveToOuterDisposeScope();
        }
        return IndexGradientFunction.apply(x, pool);
    }

    /// <summary>The same values in channels-last strides (NHWC in memory, still indexed [N, C, H, W]).</summary>
    private static Tensor ToChannelsLast(Tensor x) => x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);

    private static long[] Kernel(MaxPool2d pool) => Pair(pool.kernel_size, 1);

    private static long[] Stride(MaxPool2d pool) => pool.stride is null or { Length: 0 } ? Kernel(pool) : Pair(pool.stride, 1);

    private static long[] Padding(MaxPool2d pool) => Pair(pool.padding, 0);

    private static long[] Dilation(MaxPool2d pool) => Pair(pool.dilation, 1);

    /// <summary>The autograd node: forward on the channels-last kernel, backward from the saved indices.</summary>
    private sealed class IndexGradientFunction : autograd.SingleTensorFunction<IndexGradientFunction>
    {
        public override string Name => nameof(ChannelsLastMaxPool);

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var x = (Tensor)vars[0];
            var pool = (MaxPool2d)vars[1];
            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            var (output, indices) = nn.functional.max_pool2d_with_indices(
                ToChannelsLast(x), Kernel(pool), Stride(pool), Padding(pool), Dilation(pool), pool.ceil_mode);
            var plain = indices.contiguous();
            ctx.save_data("shape", x.shape);
            // Saved tensors are captured by the context when forward returns; the outer scope keeps them alive until then.
            ctx.save_for_backward([plain.MoveToOuterDisposeScope()]);
            return output.contiguous().MoveToOuterDisposeScope();
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
        {
            var indices = ctx.get_saved_variables()[0];
            var shape = (long[])ctx.get_data("shape");
            using var scope = NewDisposeScope();
            var planes = new[] { shape[0], shape[1], -1L };
            var grad = zeros(shape[0], shape[1], shape[2] * shape[3], dtype: gradOutput.dtype, device: gradOutput.device);
            grad.scatter_add_(2, indices.view(planes), gradOutput.contiguous().view(planes));
            return [grad.view(shape).MoveToOuterDisposeScope(), null!];
        }
    }
}
