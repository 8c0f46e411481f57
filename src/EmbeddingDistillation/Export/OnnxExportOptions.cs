namespace EmbeddingDistillation.Export;

/// <summary>Options of <see cref="OnnxExporter"/>. All optional; the defaults suit ONNX Runtime 1.x.</summary>
public sealed record OnnxExportOptions
{
    /// <summary>
    /// The ONNX opset (default <see cref="OnnxExporter.DefaultOpset"/> = 17, IR version 8). Any value from
    /// <see cref="OnnxExporter.MinOpset"/> (11) to <see cref="OnnxExporter.MaxOpset"/> (21) is accepted; the IR
    /// version is chosen to match (11: 6, 12-14: 7, 15-18: 8, 19-20: 9, 21: 10). From opset 18 on,
    /// <c>ReduceL2</c> takes its axes as an input instead of an attribute.
    /// </summary>
    public int Opset { get; init; } = OnnxExporter.DefaultOpset;

    /// <summary>
    /// Fold every BatchNorm2d that directly follows a Conv2d into that convolution's weight and bias (default
    /// true). Folding uses the running statistics (eval semantics) and removes the normalisation nodes; false keeps
    /// them as <c>BatchNormalization</c> nodes (inference form, running statistics). A BatchNorm2d with no preceding
    /// convolution is always exported as a node.
    /// </summary>
    public bool FoldBatchNorm { get; init; } = true;

    /// <summary>
    /// Fixed image height of the <c>images</c> input, or null (default) for a symbolic dimension <c>height</c>
    /// that accepts any height at run time.
    /// </summary>
    public int? InputHeight { get; init; }

    /// <summary>
    /// Fixed image width of the <c>images</c> input, or null (default) for a symbolic dimension <c>width</c>
    /// that accepts any width at run time.
    /// </summary>
    public int? InputWidth { get; init; }

    /// <summary>The ONNX graph name; null (default) uses the network's <c>Name</c>.</summary>
    public string? GraphName { get; init; }
}
