using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Networks;

/// <summary>
/// What an <see cref="IEmbeddingNetwork"/> returns for a batch of images: the embedding and the tapped
/// intermediate feature maps that hint and attention losses read.
/// </summary>
/// <remarks>
/// The tensors are ordinary TorchSharp tensors owned by the caller's dispose scope. Disposing the output
/// disposes the embedding and every feature map.
/// </remarks>
public sealed class EmbeddingOutput : IDisposable
{
    private static readonly IReadOnlyDictionary<string, Tensor> NoFeatures = new Dictionary<string, Tensor>();

    /// <summary>Creates an output.</summary>
    /// <param name="embedding">The embedding, shape [N, D].</param>
    /// <param name="features">Tapped feature maps by tap name (each [N, C, H, W]); null for none.</param>
    public EmbeddingOutput(Tensor embedding, IReadOnlyDictionary<string, Tensor>? features = null)
    {
        ArgumentNullException.ThrowIfNull(embedding);
        if (embedding.dim() != 2)
            throw new ArgumentException($"An embedding must have shape [N, D]; got [{string.Join(", ", embedding.shape)}].", nameof(embedding));
        Embedding = embedding;
        Features = features ?? NoFeatures;
    }

    /// <summary>The embedding, shape [N, D].</summary>
    public Tensor Embedding { get; }

    /// <summary>The requested intermediate feature maps by tap name, each [N, C, H, W].</summary>
    public IReadOnlyDictionary<string, Tensor> Features { get; }

    /// <summary>Returns the tapped map <paramref name="tap"/> or throws naming the missing tap and those present.</summary>
    /// <param name="tap">The tap name, e.g. <c>layer3</c>.</param>
    public Tensor Feature(string tap)
    {
        if (Features.TryGetValue(tap, out var map)) return map;
        var present = Features.Count == 0 ? "none" : string.Join(", ", Features.Keys);
        throw new KeyNotFoundException($"The network output has no feature tap '{tap}' (taps present: {present}). Request it when embedding.");
    }

    /// <summary>Disposes the embedding and the feature maps.</summary>
    public void Dispose()
    {
        Embedding.Dispose();
        foreach (var map in Features.Values) map.Dispose();
    }
}
