namespace EmbeddingDistillation.Export;

/// <summary>What <see cref="OnnxExporter"/> wrote.</summary>
/// <param name="Opset">The default-domain opset imported by the model.</param>
/// <param name="IrVersion">The ONNX IR version of the model.</param>
/// <param name="NodeCount">Number of graph nodes.</param>
/// <param name="OperatorCounts">Nodes per operator type, e.g. <c>Conv</c> → 20.</param>
/// <param name="InitializerCount">Number of initialisers (weights and constants).</param>
/// <param name="WeightCount">Number of float32 values stored in initialisers.</param>
/// <param name="Bytes">Size of the serialised model in bytes.</param>
public sealed record OnnxExportSummary(
    int Opset,
    long IrVersion,
    int NodeCount,
    IReadOnlyDictionary<string, int> OperatorCounts,
    int InitializerCount,
    long WeightCount,
    long Bytes);
