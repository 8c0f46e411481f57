using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Networks;

/// <summary>
/// Wraps an <see cref="IEmbeddingNetwork"/> so that it sees every batch at a fixed size: images of another size are
/// resized bilinearly (<c>align_corners = false</c>, no antialiasing, as PyTorch's <c>F.interpolate</c> by default)
/// before the wrapped network's <c>Embed</c>. Typical use: an ImageNet-pretrained teacher that needs larger inputs
/// than the student's small images (e.g. 32-px images seen by the teacher at 64 or 96 px), so that the trainer, the
/// teacher-embedding cache, evaluation and latency measurement all pass it the student's images unchanged.
/// </summary>
/// <remarks>
/// <para>The wrapped network's module is the child <c>network</c> (<see cref="InnerModuleName"/>): parameters,
/// <c>train()</c>/<c>eval()</c>, device moves and state dicts reach it, its state-dict keys appear under
/// <c>network.</c> (so a head learning-rate multiplier needs <c>TrainingOptions.HeadParameterPrefix = "network.head."</c>
/// when the wrapped network is an <see cref="EmbeddingNetwork"/>). Taps are the wrapped network's, computed at the
/// resized size. Only the size changes; normalisation stays the wrapped network's business (e.g.
/// <see cref="ImageNetResNet18Options.SourceMean"/>). Downscaling without antialiasing aliases; this wrapper is meant for
/// enlarging. The wrapper owns the wrapped network's module: disposing it disposes both.</para>
/// </remarks>
public sealed class ResizedInputNetwork : nn.Module<Tensor, Tensor>, IEmbeddingNetwork
{
    /// <summary>The child name of the wrapped network's module (the prefix of its state-dict keys).</summary>
    public const string InnerModuleName = "network";

    private readonly IEmbeddingNetwork _inner;

    /// <summary>Wraps <paramref name="network"/> so that it sees <paramref name="height"/> x <paramref name="width"/> images.</summary>
    /// <param name="network">The network to wrap.</param>
    /// <param name="height">The height every batch is resized to (at least 1).</param>
    /// <param name="width">The width every batch is resized to (at least 1).</param>
    /// <param name="name">The wrapper's name; null (default): the wrapped network's name + <c>@HxW</c> (<c>@S</c> when square), e.g. <c>resnet18-cntk-512@96</c>.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is below 1.</exception>
    public ResizedInputNetwork(IEmbeddingNetwork network, int height, int width, string? name = null)
        : base(name ?? DefaultName(network, height, width))
    {
        ArgumentNullException.ThrowIfNull(network);
        if (height < 1) throw new ArgumentOutOfRangeException(nameof(height), height, "The input height must be at least 1.");
        if (width < 1) throw new ArgumentOutOfRangeException(nameof(width), width, "The input width must be at least 1.");
        _inner = network;
        Name = name ?? DefaultName(network, height, width);
        InputHeight = height;
        InputWidth = width;
        register_module(InnerModuleName, network.Module);
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <summary>The wrapped network.</summary>
    public IEmbeddingNetwork Inner => _inner;

    /// <summary>The height the wrapped network sees.</summary>
    public int InputHeight { get; }

    /// <summary>The width the wrapped network sees.</summary>
    public int InputWidth { get; }

    /// <inheritdoc />
    public int EmbeddingDimension => _inner.EmbeddingDimension;

    /// <inheritdoc />
    public IReadOnlyList<string> TapNames => _inner.TapNames;

    /// <inheritdoc />
    public nn.Module Module => this;

    /// <summary>Embeds images [N, 3, H, W] to [N, D] at the wrapper's size.</summary>
    /// <param name="images">The images.</param>
    public override Tensor forward(Tensor images) => Embed(images).Embedding;

    /// <inheritdoc />
    public EmbeddingOutput Embed(Tensor images, IReadOnlyCollection<string>? taps = null)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.dim() != 4 || images.shape[1] != 3)
            throw new ArgumentException($"Network '{Name}' expects images of shape [N, 3, H, W]; got [{string.Join(", ", images.shape)}].", nameof(images));
        if (images.shape[2] == InputHeight && images.shape[3] == InputWidth) return _inner.Embed(images, taps);
        using var resized = nn.functional.interpolate(images, new long[] { InputHeight, InputWidth },
            mode: InterpolationMode.Bilinear, align_corners: false);
        return _inner.Embed(resized, taps);
    }

    private static string DefaultName(IEmbeddingNetwork network, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(network);
        return height == width ? $"{network.Name}@{height}" : $"{network.Name}@{height}x{width}";
    }
}
