using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Networks;

/// <summary>Parameter and multiply-accumulate counts of a network.</summary>
public sealed class ComplexityReport
{
    internal ComplexityReport(long Parameters, long Macs)
    {
        this.Parameters = Parameters;
        this.Macs = Macs;
    }

    /// <summary>Number of parameter elements (buffers such as BN running stats excluded).</summary>
    public long Parameters { get; }

    /// <summary>Multiply-accumulates for one image of the measured size.</summary>
    public long Macs { get; }
}

/// <summary>
/// Counts parameters and multiply-accumulates (MACs). Convention: a Conv2d costs
/// Cout x Hout x Wout x (Cin / groups) x kh x kw, a Linear in x out per image; BatchNorm, activations, pooling,
/// residual additions and the normalisation are not counted, nor are biases. MACs are measured by a dry run of
/// one zero image with forward hooks on every Conv2d and Linear (so a wrapped user module counts only when its
/// children are invoked with <c>call</c>).
/// </summary>
public static class ModelComplexity
{
    /// <summary>Counts the parameter elements of a module.</summary>
    /// <param name="module">The module.</param>
    internal static long CountParameters(nn.Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        return module.parameters().Sum(p => p.numel());
    }

    /// <summary>Counts the MACs of one forward pass of a [1, 3, H, W] image.</summary>
    /// <param name="module">A module taking images (e.g. an <see cref="EmbeddingNetwork"/> or a <see cref="Backbone"/>).</param>
    /// <param name="height">Image height.</param>
    /// <param name="width">Image width.</param>
    internal static long CountMacs(nn.Module<Tensor, Tensor> module, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(module);
        return CountMacs(module, height, width, x => module.call(x));
    }

    /// <summary>Runs <paramref name="run"/> on one zero image with hooks on every Conv2d and Linear of <paramref name="module"/>.</summary>
    private static long CountMacs(nn.Module module, int height, int width, Action<Tensor> run)
    {
        if (height < 1 || width < 1) throw new ArgumentOutOfRangeException(nameof(height), $"The image size must be positive; got {height}x{width}.");
        long macs = 0;
        var removers = new List<Action>();
        foreach (var m in module.modules())
        {
            switch (m)
            {
                case Conv2d conv:
                    removers.Add(conv.register_forward_hook((_, _, output) =>
                    {
                        macs += output.shape[1] * output.shape[2] * output.shape[3]
                            * (conv.in_channels / conv.groups) * conv.kernel_size.Aggregate(1L, (a, b) => a * b);
                        return output;
                    }).remove);
                    break;
                case Linear linear:
                    removers.Add(linear.register_forward_hook((_, _, output) =>
                    {
                        macs += linear.in_features * linear.out_features * (output.numel() / output.shape[0] / linear.out_features);
                        return output;
                    }).remove);
                    break;
            }
        }
        bool wasTraining = module.training;
        var first = module.parameters().FirstOrDefault();
        bool nativeOnly = SafeConvolution.NativeOnly;
        try
        {
            // Hooks fire only when a Conv2d module itself runs; the dry run needs shapes, not exact values.
            SafeConvolution.NativeOnly = true;
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            module.eval();
            var x = zeros(new long[] { 1, 3, height, width }, dtype: first?.dtype ?? ScalarType.Float32, device: first?.device);
            run(x);
        }
        finally
        {
            SafeConvolution.NativeOnly = nativeOnly;
            module.train(wasTraining);
            foreach (var remove in removers) remove();
        }
        return macs;
    }

    /// <summary>Parameters and MACs of a network at an image size (its <c>Embed</c> on one zero image).</summary>
    /// <param name="network">The network.</param>
    /// <param name="height">Image height.</param>
    /// <param name="width">Image width.</param>
    public static ComplexityReport Measure(IEmbeddingNetwork network, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(network);
        return new(CountParameters(network.Module), CountMacs(network.Module, height, width, x => network.Embed(x)));
    }
}
