using EmbeddingDistillation.Primitives;
using System.Reflection;
using EmbeddingDistillation.Networks;

namespace EmbeddingDistillation.Export;

/// <summary>
/// Writes an <see cref="EmbeddingNetwork"/> as an ONNX model (TorchSharp has no ONNX export), so that a trained
/// student runs in ONNX Runtime or any other ONNX engine.
/// </summary>
/// <remarks>
/// <para>The graph has one input <c>images</c> float32 <c>[batch, 3, H, W]</c> (batch always dynamic; H and W
/// fixed by <see cref="OnnxExportOptions.InputHeight"/>/<see cref="OnnxExportOptions.InputWidth"/> or symbolic)
/// and one output <c>embedding</c> float32 <c>[batch, D]</c>. Operators: Conv (group = channels for depthwise),
/// BatchNormalization (only when not folded), Relu, Clip (ReLU6, min/max as inputs), MaxPool, AveragePool, Add
/// (residuals), GlobalAveragePool, Flatten, Gemm (the head) and, with normalisation, ReduceL2 + Max + Div
/// (exactly <c>F.normalize</c>'s <c>e / max(||e||, 1e-12)</c>).</para>
/// <para>The export has eval semantics regardless of the module's mode (BatchNorm uses its running statistics,
/// Dropout is the identity); the module is only read, never run, and its mode is not changed. Weights are stored
/// as float32 initialisers (float64 networks are converted) from any device.</para>
/// <para>Supported backbones: ResNet, MobileNetV1, MobileNetV2, and <see cref="ModuleBackbone"/>s whose module is
/// built from Sequential, Conv2d, BatchNorm2d, ReLU, ReLU6, MaxPool2d, AvgPool2d, Identity, Dropout and
/// this library's blocks. Anything else raises a <see cref="NotSupportedException"/> naming the layer's path and
/// type, e.g. <c>backbone.module.3 (GELU)</c>.</para>
/// </remarks>
public static class OnnxExporter
{
    /// <summary>The name of the graph input: float32 images <c>[batch, 3, H, W]</c>.</summary>
    public const string InputName = "images";

    /// <summary>The name of the graph output: float32 embeddings <c>[batch, D]</c>.</summary>
    public const string OutputName = "embedding";

    /// <summary>The opset used unless <see cref="OnnxExportOptions.Opset"/> says otherwise.</summary>
    public const int DefaultOpset = 17;

    /// <summary>The lowest supported opset (Clip takes min/max as inputs from opset 11).</summary>
    public const int MinOpset = 11;

    /// <summary>The highest supported opset.</summary>
    public const int MaxOpset = 21;

    /// <summary>The producer name written into the model.</summary>
    internal const string ProducerName = "EmbeddingDistillation";

    /// <summary>Exports the network to an ONNX file, written atomically (temporary file, then rename).</summary>
    /// <param name="network">The network (any device and dtype; read, not modified).</param>
    /// <param name="path">The target file (its folder is created if needed).</param>
    /// <param name="options">Export options; null for the defaults.</param>
    /// <returns>What was written.</returns>
    /// <exception cref="NotSupportedException">The network is not the library's <see cref="EmbeddingNetwork"/>, or its backbone contains a layer the exporter cannot translate.</exception>
    public static OnnxExportSummary Export(IEmbeddingNetwork network, string path, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var (bytes, summary) = Build(Exportable(network), options ?? new OnnxExportOptions());
        AtomicFile.Write(path, file => file.Write(bytes.Span));
        return summary;
    }

    /// <summary>Exports the network as an ONNX model to a stream (left open).</summary>
    /// <param name="network">The network (any device and dtype; read, not modified).</param>
    /// <param name="stream">A writable stream.</param>
    /// <param name="options">Export options; null for the defaults.</param>
    /// <returns>What was written.</returns>
    /// <exception cref="NotSupportedException">The network is not the library's <see cref="EmbeddingNetwork"/>, or its backbone contains a layer the exporter cannot translate.</exception>
    public static OnnxExportSummary Export(IEmbeddingNetwork network, Stream stream, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanWrite) throw new ArgumentException("The ONNX output stream is not writable.", nameof(stream));
        var (bytes, summary) = Build(Exportable(network), options ?? new OnnxExportOptions());
        stream.Write(bytes.Span);
        return summary;
    }

    /// <summary>The exporter translates the library's module tree: a <see cref="Backbone"/> and the paper's head.</summary>
    private static EmbeddingNetwork Exportable(IEmbeddingNetwork network) => network.Module as EmbeddingNetwork
        ?? throw new NotSupportedException(
            $"The ONNX exporter translates the library's EmbeddingNetwork (a backbone and the paper's head); '{network.Name}' is a {network.Module.GetType().Name}. " +
            "Wrap your module with EmbeddingNetworks.FromModule to export it.");

    /// <summary>The ONNX IR version that goes with an opset (ONNX releases 1.6 to 1.16).</summary>
    /// <param name="opset">An opset from <see cref="MinOpset"/> to <see cref="MaxOpset"/>.</param>
    internal static long IrVersionFor(int opset) => opset switch
    {
        11 => 6,
        >= 12 and <= 14 => 7,
        >= 15 and <= 18 => 8,
        19 or 20 => 9,
        21 => 10,
        _ => throw new ArgumentOutOfRangeException(nameof(opset), opset, $"The ONNX opset must be from {MinOpset} to {MaxOpset}."),
    };

    private static (ReadOnlyMemory<byte> Bytes, OnnxExportSummary Summary) Build(EmbeddingNetwork network, OnnxExportOptions options)
    {
        if (options.Opset is < MinOpset or > MaxOpset)
            throw new ArgumentOutOfRangeException(nameof(options), options.Opset, $"OnnxExportOptions.Opset must be from {MinOpset} to {MaxOpset}; got {options.Opset}.");
        if (options.InputHeight is < 1 || options.InputWidth is < 1)
            throw new ArgumentOutOfRangeException(nameof(options), $"OnnxExportOptions.InputHeight/InputWidth must be positive or null; got {options.InputHeight}x{options.InputWidth}.");
        long irVersion = IrVersionFor(options.Opset);

        var graph = new OnnxGraph();
        graph.Reserve(InputName);
        // The output name is not reserved: the last node takes it (value names are module paths, never "embedding").
        var emitter = new OnnxModuleEmitter(graph, options);
        if (emitter.EmitNetwork(network, InputName, OutputName) != OutputName)
            throw new InvalidOperationException($"The ONNX output value could not be named '{OutputName}'.");

        var input = OnnxGraph.FloatValueInfo(InputName, new object[]
        {
            "batch", 3L, (object?)(long?)options.InputHeight ?? "height", (object?)(long?)options.InputWidth ?? "width",
        });
        var output = OnnxGraph.FloatValueInfo(OutputName, new object[] { "batch", (long)network.EmbeddingDimension });
        var opset = new ProtoMessage().String(1, "").Int64(2, options.Opset);
        var model = new ProtoMessage()
            .Int64(1, irVersion)
            .String(2, ProducerName)
            .String(3, ProducerVersion())
            .String(6, $"EmbeddingDistillation network '{network.Name}': images [batch, 3, H, W] -> embedding [batch, {network.EmbeddingDimension}]" +
                       (network.Normalize ? ", L2-normalised." : ", not normalised."))
            .Message(7, graph.Encode(options.GraphName ?? network.Name, input, output))
            .Message(8, opset);
        var bytes = model.ToMemory();
        var summary = new OnnxExportSummary(options.Opset, irVersion, graph.NodeCount,
            new Dictionary<string, int>(graph.OperatorCounts, StringComparer.Ordinal), graph.InitializerCount, graph.WeightCount, bytes.Length);
        return (bytes, summary);
    }

    internal static string ProducerVersion()
    {
        var version = typeof(OnnxExporter).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
                      ?? typeof(OnnxExporter).Assembly.GetName().Version?.ToString() ?? "0.0.0";
        int plus = version.IndexOf('+', StringComparison.Ordinal);
        return plus < 0 ? version : version[..plus];
    }
}
