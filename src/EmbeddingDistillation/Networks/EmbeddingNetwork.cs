using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Networks;

/// <summary>
/// A backbone plus the paper's embedding head: global average pool, Linear(C -> D), optional L2 normalisation
/// (<c>F.normalize</c>, p = 2, eps 1e-12).
/// </summary>
/// <remarks>
/// Children: <c>backbone</c> (a <see cref="Backbone"/>) and <c>head</c> (the Linear). State-dict keys are
/// <c>backbone.*</c> (e.g. <c>backbone.layer1.0.conv1.weight</c>), <c>head.weight</c> and <c>head.bias</c>.
/// Forward: <c>e = head(mean over H, W of backbone(x))</c>, then <c>e / max(||e||, 1e-12)</c> if
/// <see cref="Normalize"/>. The head's weight is kaiming-normal (fan_out), its bias zero.
/// </remarks>
public sealed class EmbeddingNetwork : nn.Module<Tensor, Tensor>, IEmbeddingNetwork
{
    private readonly Backbone backbone;
    private readonly Linear head;

    /// <summary>Creates the network.</summary>
    /// <param name="name">A short descriptive name, e.g. <c>resnet18-512</c>.</param>
    /// <param name="backbone">The backbone.</param>
    /// <param name="embeddingDimension">D, any positive value.</param>
    /// <param name="normalize">L2-normalise the embedding.</param>
    internal EmbeddingNetwork(string name, Backbone backbone, int embeddingDimension, bool normalize = true) : base(name)
    {
        ArgumentNullException.ThrowIfNull(backbone);
        Primitives.TorchRuntime.EnsureConfigured();
        if (embeddingDimension < 1)
            throw new ArgumentOutOfRangeException(nameof(embeddingDimension), embeddingDimension, "The embedding dimension must be positive.");
        Name = name;
        EmbeddingDimension = embeddingDimension;
        Normalize = normalize;
        this.backbone = backbone;
        head = nn.Linear(backbone.OutputChannels, embeddingDimension);
        using (no_grad())
        {
            nn.init.kaiming_normal_(head.weight!, mode: nn.init.FanInOut.FanOut);
            nn.init.zeros_(head.bias!);
        }
        RegisterComponents();
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public int EmbeddingDimension { get; }

    /// <summary>Whether the embedding is L2-normalised.</summary>
    public bool Normalize { get; }

    /// <summary>The backbone (child <c>backbone</c>).</summary>
    internal Backbone Backbone => backbone;

    /// <summary>The head's Linear layer (child <c>head</c>).</summary>
    public Linear Head => head;

    /// <inheritdoc />
    public IReadOnlyList<string> TapNames => backbone.TapNames;

    /// <summary>The backbone's taps with channels and strides.</summary>
    public IReadOnlyList<TapInfo> Taps => backbone.Taps;

    /// <inheritdoc />
    public nn.Module Module => this;

    /// <summary>Embeds images [N, 3, H, W] to [N, D].</summary>
    /// <param name="images">The images.</param>
    public override Tensor forward(Tensor images)
    {
        ValidateImages(images);
        return HeadForward(backbone.call(images));
    }

    /// <inheritdoc />
    public EmbeddingOutput Embed(Tensor images, IReadOnlyCollection<string>? taps = null)
    {
        ValidateImages(images);
        if (taps is null || taps.Count == 0) return new EmbeddingOutput(HeadForward(backbone.call(images)));
        var features = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var map = backbone.forward(images, taps, features);
        return new EmbeddingOutput(HeadForward(map), features);
    }

    private Tensor HeadForward(Tensor map)
    {
        var e = head.call(map.mean(new long[] { 2, 3 }));
        return Normalize ? nn.functional.normalize(e, p: 2, dim: 1, eps: 1e-12) : e;
    }

    private void ValidateImages(Tensor images)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.dim() != 4 || images.shape[1] != 3)
            throw new ArgumentException($"Network '{Name}' expects images of shape [N, 3, H, W]; got [{string.Join(", ", images.shape)}].", nameof(images));
        var w = head.weight!;
        if (images.dtype != w.dtype || images.device.type != w.device.type || images.device.index != w.device.index)
            throw new ArgumentException(
                $"Network '{Name}' has {w.dtype} parameters on {w.device}; the images are {images.dtype} on {images.device}. Move or convert one of them.",
                nameof(images));
    }
}
