using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Networks;

/// <summary>
/// A stack of layers run in order that reports named feature maps after given layers: the shared forward pass of
/// the MobileNet backbones, whose stages end inside one <c>features</c> Sequential.
/// </summary>
internal sealed class TappedLayerStack
{
    private readonly nn.Module<Tensor, Tensor>[] layers;
    private readonly string?[] tapAfter;

    /// <param name="layers">The layers, in order (they stay registered by their owner, e.g. through <see cref="ToSequential"/>).</param>
    /// <param name="tapsAfter">Layer index after which each named tap is taken.</param>
    public TappedLayerStack(IReadOnlyList<nn.Module<Tensor, Tensor>> layers, IEnumerable<(int Index, string Name)> tapsAfter)
    {
        this.layers = layers.ToArray();
        tapAfter = new string?[this.layers.Length];
        foreach (var (index, name) in tapsAfter) tapAfter[index] = name;
    }

    /// <summary>The layers as a Sequential with children named 0, 1, ... (torchvision's <c>features.N</c> keys).</summary>
    public TorchSharp.Modules.Sequential ToSequential()
        => nn.Sequential(layers.Select((m, i) => (i.ToString(System.Globalization.CultureInfo.InvariantCulture), m)));

    /// <summary>Runs the layers, calling <paramref name="tap"/> with each named map as it is produced.</summary>
    public Tensor Forward(Tensor input, Action<string, Tensor>? tap)
    {
        var x = input;
        for (int i = 0; i < layers.Length; i++)
        {
            var next = layers[i].call(x);
            // A layer's output that is neither the input nor a tap is dead once the next layer has run: freed now, as
            // TorchSharp's Sequential does, not when the caller's dispose scope ends.
            if (i > 0 && tapAfter[i - 1] is null && !ReferenceEquals(x, next)) x.Dispose();
            x = next;
            if (tapAfter[i] is { } name) tap?.Invoke(name, x);
        }
        return x;
    }
}
