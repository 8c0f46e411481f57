namespace EmbeddingDistillation.Export;

/// <summary>What <see cref="OnnxExporter"/> wrote.</summary>
public sealed class OnnxExportSummary
{
    internal OnnxExportSummary(int Opset, long IrVersion, int NodeCount, IReadOnlyDictionary<string, int> OperatorCounts, int InitializerCount, long WeightCount, long Bytes)
    {
        this.Opset = Opset;
        this.IrVersion = IrVersion;
        this.NodeCount = NodeCount;
        this.OperatorCounts = OperatorCounts;
        this.InitializerCount = InitializerCount;
        this.WeightCount = WeightCount;
        this.Bytes = Bytes;
    }

    /// <summary>The default-domain opset imported by the model.</summary>
    public int Opset { get; }

    /// <summary>The ONNX IR version of the model.</summary>
    public long IrVersion { get; }

    /// <summary>Number of graph nodes.</summary>
    public int NodeCount { get; }

    /// <summary>Nodes per operator type, e.g. <c>Conv</c> → 20.</summary>
    public IReadOnlyDictionary<string, int> OperatorCounts { get; }

    /// <summary>Number of initialisers (weights and constants).</summary>
    public int InitializerCount { get; }

    /// <summary>Number of float32 values stored in initialisers.</summary>
    public long WeightCount { get; }

    /// <summary>Size of the serialised model in bytes.</summary>
    public long Bytes { get; }
}
