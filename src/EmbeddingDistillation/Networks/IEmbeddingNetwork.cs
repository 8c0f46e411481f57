using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Networks;

/// <summary>
/// A network that maps images [N, 3, H, W] to embeddings [N, D], optionally returning named intermediate
/// feature maps (taps) for hint and attention distillation.
/// </summary>
public interface IEmbeddingNetwork
{
    /// <summary>A short descriptive name, e.g. <c>resnet18-512</c>.</summary>
    string Name { get; }

    /// <summary>The embedding dimension D.</summary>
    int EmbeddingDimension { get; }

    /// <summary>The names of the intermediate maps this network can tap, shallow to deep.</summary>
    IReadOnlyList<string> TapNames { get; }

    /// <summary>
    /// The underlying TorchSharp module: parameters, <c>train()</c>/<c>eval()</c>, device moves, state dicts,
    /// save and load.
    /// </summary>
    nn.Module Module { get; }

    /// <summary>Embeds a batch of images.</summary>
    /// <param name="images">Images [N, 3, H, W] on the network's device, same dtype as its parameters.</param>
    /// <param name="taps">Tap names to return in <see cref="EmbeddingOutput.Features"/>; null or empty for none.</param>
    EmbeddingOutput Embed(Tensor images, IReadOnlyCollection<string>? taps = null);
}
