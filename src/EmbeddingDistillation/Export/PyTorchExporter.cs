using System.Collections;
using System.Globalization;
using EmbeddingDistillation.Networks;
using EmbeddingDistillation.Primitives;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Export;

/// <summary>
/// Writes a network's state dict as a file PyTorch reads: <c>.safetensors</c> (with metadata) or <c>.pth</c>
/// (<c>torch.save</c>'s zip format), the other direction of <see cref="PretrainedWeights"/>.
/// </summary>
/// <remarks>
/// <para>The keys are exactly the module's state-dict names. For the library's <see cref="EmbeddingNetwork"/>
/// they are <c>backbone.*</c> — torchvision's own names after the prefix for ResNet and MobileNetV2 (e.g.
/// <c>backbone.layer1.0.conv1.weight</c>, <c>backbone.features.18.1.running_var</c>) — and <c>head.weight</c>,
/// <c>head.bias</c> (the Linear of the head). A torchvision model whose classifier is replaced by
/// <c>nn.Identity()</c>, held as the child <c>backbone</c> of a module with a <c>head</c> Linear, has exactly these
/// keys and loads the file with <c>load_state_dict(strict=True)</c>.</para>
/// <para>What is stored: every parameter and buffer, BatchNorm's running statistics and
/// <c>num_batches_tracked</c> included, as PyTorch's <c>state_dict()</c> has them. Floating-point tensors are
/// stored as float32 (a float64 or float16 network is converted), int64 buffers as int64; any other dtype is
/// refused. Tensors are copied to the CPU from any device; the network is only read (never run, its mode is not
/// changed).</para>
/// <para>The file is written atomically: a temporary file in the target's folder, renamed over the target (the
/// folder is created if needed).</para>
/// </remarks>
public static class PyTorchExporter
{
    /// <summary>The extension that selects the safetensors format.</summary>
    public const string SafetensorsExtension = ".safetensors";

    /// <summary>The extensions that select <c>torch.save</c>'s zip format.</summary>
    public static IReadOnlyList<string> PthExtensions { get; } = Array.AsReadOnly(new[] { ".pth", ".pt" });

    /// <summary>
    /// Writes the network's state dict to <paramref name="path"/>: safetensors for <c>.safetensors</c> (with
    /// <c>__metadata__</c>: architecture, embedding dimension, normalisation, key layout), <c>torch.save</c>'s zip
    /// format for <c>.pth</c>/<c>.pt</c> (a plain dict of tensors, read by <c>torch.load</c>).
    /// </summary>
    /// <param name="network">The network (any device and dtype; read, not modified).</param>
    /// <param name="path">The target file; its extension selects the format.</param>
    /// <returns>What was written.</returns>
    /// <exception cref="ArgumentException">The path is empty, a folder, or has another extension.</exception>
    /// <exception cref="NotSupportedException">A state-dict entry has a dtype other than floating point or int64.</exception>
    public static PyTorchExportSummary Export(IEmbeddingNetwork network, string path)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        bool safetensors = path.EndsWith(SafetensorsExtension, StringComparison.OrdinalIgnoreCase);
        if (!safetensors && !PthExtensions.Any(e => path.EndsWith(e, StringComparison.OrdinalIgnoreCase)))
            throw new ArgumentException(
                $"Cannot tell the PyTorch format of '{path}' from its extension: use {SafetensorsExtension} (safetensors, with metadata) or {string.Join(" / ", PthExtensions)} (torch.save's zip format).",
                nameof(path));
        if (Directory.Exists(path))
            throw new ArgumentException($"'{path}' is a folder; give the path of the file to write.", nameof(path));

        using var scope = NewDisposeScope();
        var tensors = StateDict(network);
        var keys = tensors.Keys.OrderBy(k => k, StringComparer.Ordinal).ToArray();
        long values = tensors.Values.Sum(t => t.NumberOfElements);
        IReadOnlyDictionary<string, string> metadata;
        if (safetensors)
        {
            metadata = Metadata(network);
            AtomicFile.Write(path, file => SafetensorsWriter.Write(file, tensors, metadata));
        }
        else
        {
            metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var table = new Hashtable();
            foreach (var key in keys) table[key] = tensors[key];
            AtomicFile.Write(path, file => PyTorchPickler.PickleStateDict(file, table, leaveOpen: true));
        }
        return new PyTorchExportSummary(safetensors ? "safetensors" : "pth", keys, values, new FileInfo(path).Length, metadata);
    }

    /// <summary>The module's state dict as detached CPU tensors: floating point as float32, int64 as is.</summary>
    private static Dictionary<string, Tensor> StateDict(IEmbeddingNetwork network)
    {
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        using var _ = no_grad();
        foreach (var (key, tensor) in network.Module.state_dict())
        {
            var dtype = tensor.dtype switch
            {
                ScalarType.Float32 or ScalarType.Float64 or ScalarType.Float16 or ScalarType.BFloat16 => ScalarType.Float32,
                ScalarType.Int64 => ScalarType.Int64,
                _ => throw new NotSupportedException(
                    $"State-dict entry '{key}' of '{network.Name}' is {tensor.dtype}; the PyTorch export stores floating-point tensors (as float32) and int64 buffers only."),
            };
            result[key] = tensor.detach().cpu().to(dtype).contiguous();
        }
        return result;
    }

    /// <summary>The safetensors metadata: what a PyTorch user needs to rebuild the network around the weights.</summary>
    private static Dictionary<string, string> Metadata(IEmbeddingNetwork network)
    {
        var m = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["format"] = "pt",
            ["producer"] = $"{OnnxExporter.ProducerName} {OnnxExporter.ProducerVersion()}",
            ["network"] = network.Name,
            ["embedding_dim"] = Invariant(network.EmbeddingDimension),
        };
        if (network.Module is not EmbeddingNetwork net) return m;

        m["normalize"] = net.Normalize ? "true" : "false";
        m["backbone_channels"] = Invariant(net.Backbone.OutputChannels);
        m["layout"] = "backbone.* = the backbone's state dict (torchvision's key names for resnet and mobilenetv2); " +
                      "head.weight [embedding_dim, backbone_channels], head.bias [embedding_dim] = the head's Linear";
        m["forward"] = "e = head(backbone(x).mean(dim=(2, 3))); if normalize: e = F.normalize(e, p=2, dim=1, eps=1e-12)";
        switch (net.Backbone)
        {
            case ResNetBackbone r:
                int baseWidth = r.Taps[0].Channels;
                m["architecture"] = r.Layout?.Name ?? $"resnet{r.Depth}";
                m["base_width"] = Invariant(baseWidth);
                m["small_input_stem"] = r.SmallInputStem ? "true" : "false";
                if (r.Layout is { } layout)
                    m["layout"] += $"; {layout.Name}: blocks per stage [{string.Join(", ", layout.Blocks ?? [])}], " +
                                   (layout.BeginHeavyPadding ? "CNTK padding (stride-2 convs and the max-pool pad 1 more before than after), " : "") +
                                   (layout.Input is { } a ? $"input x' = {(a.ReverseChannels ? "x[:, ::-1]" : "x")} * [{string.Join(", ", a.Scale.Select(v => Invariant((double)v)))}] + [{string.Join(", ", a.Shift.Select(v => Invariant((double)v)))}] before conv1" : "no input adapter");
                else if (baseWidth == 64) m["torchvision_model"] = $"resnet{r.Depth}";
                break;
            case MobileNetV2Backbone v2:
                m["architecture"] = "mobilenetv2";
                m["width"] = Invariant(v2.Width);
                m["small_input_stem"] = v2.SmallInputStem ? "true" : "false";
                m["torchvision_model"] = "mobilenet_v2";
                break;
            case MobileNetV1Backbone v1:
                m["architecture"] = "mobilenetv1";
                m["width"] = Invariant(v1.Width);
                m["small_input_stem"] = v1.SmallInputStem ? "true" : "false";
                break;
            default:
                m["architecture"] = "custom";
                break;
        }
        return m;
    }

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Invariant(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
