namespace EmbeddingDistillation.Networks;

/// <summary>Options of the networks built by <see cref="EmbeddingNetworks"/>.</summary>
public sealed record EmbeddingNetworkOptions
{
    /// <summary>L2-normalise the embedding (the paper's head). Default true.</summary>
    public bool Normalize { get; init; } = true;

    /// <summary>
    /// Use the small-input stem for 32-48 px images. Default false. ResNet: 3x3 stride-1 <c>conv1</c> and no
    /// maxpool; MobileNets: stride 1 in the stem conv.
    /// </summary>
    public bool SmallInputStem { get; init; }

    /// <summary>ResNet only: channels of the stem and of <c>layer1</c> (torchvision: 64). Default 64.</summary>
    public int BaseWidth { get; init; } = 64;
}
