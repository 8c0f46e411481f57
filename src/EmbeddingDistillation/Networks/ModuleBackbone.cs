using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Networks;

/// <summary>
/// Wraps any user module that maps images [N, 3, H, W] to a feature map [N, C, h, w] as a <see cref="Backbone"/>.
/// The wrapped module is the child <c>module</c> (its keys appear under <c>module.</c>); its only tap is
/// <c>output</c>, the final map.
/// </summary>
internal sealed class ModuleBackbone : Backbone
{
    /// <summary>The name of the single tap (the wrapped module's output).</summary>
    public const string OutputTap = "output";

    private readonly nn.Module<Tensor, Tensor> module;
    private readonly TapInfo[] taps;

    /// <summary>Wraps a module whose output channel count and stride are known.</summary>
    /// <param name="module">The module: [N, 3, H, W] to [N, C, h, w].</param>
    /// <param name="outputChannels">C.</param>
    /// <param name="outputStride">H / h (used only to describe the <c>output</c> tap).</param>
    public ModuleBackbone(nn.Module<Tensor, Tensor> module, int outputChannels, int outputStride) : base("module_backbone")
    {
        ArgumentNullException.ThrowIfNull(module);
        if (outputChannels < 1) throw new ArgumentOutOfRangeException(nameof(outputChannels), outputChannels, "The output channel count must be positive.");
        if (outputStride < 1) throw new ArgumentOutOfRangeException(nameof(outputStride), outputStride, "The output stride must be positive.");
        this.module = module;
        OutputChannels = outputChannels;
        taps = new[] { new TapInfo(OutputTap, outputChannels, outputStride) };
        RegisterComponents();
    }

    /// <summary>
    /// Wraps a module, inferring its output channels and stride by a dry run (eval mode, no gradient, one zero
    /// image of the given size on the module's device and dtype; the module's train/eval mode is restored).
    /// </summary>
    /// <param name="module">The module: [N, 3, H, W] to [N, C, h, w].</param>
    /// <param name="inputHeight">Height of the dry-run image.</param>
    /// <param name="inputWidth">Width of the dry-run image.</param>
    /// <exception cref="ArgumentException">The module's output is not 4-D.</exception>
    public static ModuleBackbone Infer(nn.Module<Tensor, Tensor> module, int inputHeight, int inputWidth)
    {
        ArgumentNullException.ThrowIfNull(module);
        if (inputHeight < 1 || inputWidth < 1)
            throw new ArgumentOutOfRangeException(nameof(inputHeight), $"The dry-run input size must be positive; got {inputHeight}x{inputWidth}.");
        var shape = DryRun(module, inputHeight, inputWidth);
        if (shape.Length != 4)
            throw new ArgumentException($"The wrapped module must output a feature map [N, C, H, W]; for input [1, 3, {inputHeight}, {inputWidth}] it output [{string.Join(", ", shape)}].", nameof(module));
        int stride = (int)Math.Max(1, Math.Round((double)inputHeight / shape[2]));
        return new ModuleBackbone(module, (int)shape[1], stride);
    }

    private static long[] DryRun(nn.Module<Tensor, Tensor> module, int height, int width)
    {
        bool wasTraining = module.training;
        var first = module.parameters().FirstOrDefault();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        module.eval();
        try
        {
            var x = zeros(new long[] { 1, 3, height, width }, dtype: first?.dtype ?? ScalarType.Float32, device: first?.device);
            return module.call(x).shape;
        }
        finally
        {
            module.train(wasTraining);
        }
    }

    /// <inheritdoc />
    public override int OutputChannels { get; }

    /// <inheritdoc />
    public override IReadOnlyList<TapInfo> Taps => taps;

    /// <inheritdoc />
    protected override Tensor ForwardCore(Tensor input, Action<string, Tensor>? tap)
    {
        var y = module.call(input);
        if (y.dim() != 4 || y.shape[1] != OutputChannels)
            throw new InvalidOperationException(
                $"The wrapped module must output [N, {OutputChannels}, H, W]; for input [{string.Join(", ", input.shape)}] it output [{string.Join(", ", y.shape)}].");
        tap?.Invoke(OutputTap, y);
        return y;
    }
}
