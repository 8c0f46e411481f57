using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Networks;

/// <summary>
/// Factories of <see cref="EmbeddingNetwork"/>s: a backbone plus the paper's head (GAP, Linear to D, L2 normalise).
/// Networks are created on the default device in float32 with fresh (torchvision-style) initialisation; load
/// ImageNet weights with <see cref="PretrainedWeights"/>.
/// </summary>
public static class EmbeddingNetworks
{
    /// <summary>ResNet-18 (BasicBlock, [2, 2, 2, 2]).</summary>
    /// <param name="embeddingDimension">D.</param>
    /// <param name="options">Options; null for the defaults.</param>
    public static EmbeddingNetwork ResNet18(int embeddingDimension = 512, EmbeddingNetworkOptions? options = null) => ResNet(18, embeddingDimension, options);

    /// <summary>ResNet-34 (BasicBlock, [3, 4, 6, 3]).</summary>
    /// <param name="embeddingDimension">D.</param>
    /// <param name="options">Options; null for the defaults.</param>
    public static EmbeddingNetwork ResNet34(int embeddingDimension = 512, EmbeddingNetworkOptions? options = null) => ResNet(34, embeddingDimension, options);

    /// <summary>ResNet-50 (Bottleneck, [3, 4, 6, 3]).</summary>
    /// <param name="embeddingDimension">D.</param>
    /// <param name="options">Options; null for the defaults.</param>
    public static EmbeddingNetwork ResNet50(int embeddingDimension = 512, EmbeddingNetworkOptions? options = null) => ResNet(50, embeddingDimension, options);

    /// <summary>ResNet-101 (Bottleneck, [3, 4, 23, 3]), the paper's teacher.</summary>
    /// <param name="embeddingDimension">D.</param>
    /// <param name="options">Options; null for the defaults.</param>
    public static EmbeddingNetwork ResNet101(int embeddingDimension = 512, EmbeddingNetworkOptions? options = null) => ResNet(101, embeddingDimension, options);

    /// <summary>MobileNetV1 with a width multiplier (the paper's student uses 0.25).</summary>
    /// <param name="width">Width multiplier, any positive value.</param>
    /// <param name="embeddingDimension">D.</param>
    /// <param name="options">Options (<see cref="EmbeddingNetworkOptions.BaseWidth"/> is ignored); null for the defaults.</param>
    public static EmbeddingNetwork MobileNetV1(double width, int embeddingDimension = 512, EmbeddingNetworkOptions? options = null)
    {
        options ??= new EmbeddingNetworkOptions();
        var backbone = new MobileNetV1Backbone(width, options.SmallInputStem);
        return new EmbeddingNetwork($"mobilenetv1-{Format(width)}-{embeddingDimension}", backbone, embeddingDimension, options.Normalize);
    }

    /// <summary>MobileNetV2 with a width multiplier (torchvision key layout).</summary>
    /// <param name="width">Width multiplier, any positive value.</param>
    /// <param name="embeddingDimension">D.</param>
    /// <param name="options">Options (<see cref="EmbeddingNetworkOptions.BaseWidth"/> is ignored); null for the defaults.</param>
    public static EmbeddingNetwork MobileNetV2(double width, int embeddingDimension = 512, EmbeddingNetworkOptions? options = null)
    {
        options ??= new EmbeddingNetworkOptions();
        var backbone = new MobileNetV2Backbone(width, options.SmallInputStem);
        return new EmbeddingNetwork($"mobilenetv2-{Format(width)}-{embeddingDimension}", backbone, embeddingDimension, options.Normalize);
    }

    /// <summary>Wraps a user module with known output channels and stride.</summary>
    /// <param name="module">[N, 3, H, W] to [N, C, h, w].</param>
    /// <param name="outputChannels">C.</param>
    /// <param name="outputStride">H / h.</param>
    /// <param name="embeddingDimension">D.</param>
    /// <param name="normalize">L2-normalise the embedding.</param>
    /// <param name="name">The network's name.</param>
    public static EmbeddingNetwork FromModule(nn.Module<Tensor, Tensor> module, int outputChannels, int outputStride, int embeddingDimension = 512, bool normalize = true, string name = "custom")
        => new($"{name}-{embeddingDimension}", new ModuleBackbone(module, outputChannels, outputStride), embeddingDimension, normalize);

    /// <summary>Wraps a user module, inferring its output channels and stride by a dry run at the given size.</summary>
    /// <param name="module">[N, 3, H, W] to [N, C, h, w].</param>
    /// <param name="inputHeight">Dry-run image height.</param>
    /// <param name="inputWidth">Dry-run image width.</param>
    /// <param name="embeddingDimension">D.</param>
    /// <param name="normalize">L2-normalise the embedding.</param>
    /// <param name="name">The network's name.</param>
    public static EmbeddingNetwork FromModuleInferred(nn.Module<Tensor, Tensor> module, int inputHeight, int inputWidth, int embeddingDimension = 512, bool normalize = true, string name = "custom")
        => new($"{name}-{embeddingDimension}", ModuleBackbone.Infer(module, inputHeight, inputWidth), embeddingDimension, normalize);

    /// <summary>
    /// Creates a network by name: <c>resnet18</c>, <c>resnet34</c>, <c>resnet50</c>, <c>resnet101</c>,
    /// <c>mobilenetv1-W</c>, <c>mobilenetv2-W</c> with W the width multiplier (e.g. <c>mobilenetv1-0.25</c>;
    /// without <c>-W</c> the width is 1.0). Case-insensitive; underscores count as dashes.
    /// </summary>
    /// <param name="name">The architecture name.</param>
    /// <param name="embeddingDimension">D.</param>
    /// <param name="options">Options; null for the defaults.</param>
    /// <exception cref="ArgumentException">The name is not recognised.</exception>
    public static EmbeddingNetwork Create(string name, int embeddingDimension = 512, EmbeddingNetworkOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        var n = name.Trim().ToLowerInvariant().Replace('_', '-');
        switch (n)
        {
            case "resnet18": return ResNet18(embeddingDimension, options);
            case "resnet34": return ResNet34(embeddingDimension, options);
            case "resnet50": return ResNet50(embeddingDimension, options);
            case "resnet101": return ResNet101(embeddingDimension, options);
        }
        foreach (var (prefix, v1) in new[] { ("mobilenetv1", true), ("mobilenetv2", false) })
        {
            if (!n.StartsWith(prefix, StringComparison.Ordinal)) continue;
            var rest = n[prefix.Length..];
            double width = 1.0;
            if (rest.Length > 0 && !(rest[0] == '-' && double.TryParse(rest[1..], NumberStyles.Float, CultureInfo.InvariantCulture, out width)))
                break;
            return v1 ? MobileNetV1(width, embeddingDimension, options) : MobileNetV2(width, embeddingDimension, options);
        }
        throw new ArgumentException(
            $"Unknown network name '{name}'. Known: resnet18, resnet34, resnet50, resnet101, mobilenetv1-W, mobilenetv2-W (W = width multiplier, e.g. mobilenetv1-0.25).",
            nameof(name));
    }

    private static EmbeddingNetwork ResNet(int depth, int embeddingDimension, EmbeddingNetworkOptions? options)
    {
        options ??= new EmbeddingNetworkOptions();
        var backbone = new ResNetBackbone(depth, options.BaseWidth, options.SmallInputStem);
        return new EmbeddingNetwork($"resnet{depth}-{embeddingDimension}", backbone, embeddingDimension, options.Normalize);
    }

    private static string Format(double width) => width.ToString("0.###", CultureInfo.InvariantCulture);
}
