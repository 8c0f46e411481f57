namespace EmbeddingDistillation.Export;

/// <summary>What <see cref="PyTorchExporter"/> wrote.</summary>
/// <param name="Format"><c>safetensors</c> or <c>pth</c>.</param>
/// <param name="Keys">The state-dict keys written, in ordinal order (the module's own names).</param>
/// <param name="ValueCount">Number of values stored (float32 weights and statistics, int64 counters).</param>
/// <param name="Bytes">Size of the file in bytes.</param>
/// <param name="Metadata">The safetensors <c>__metadata__</c> written (architecture, embedding dimension,
/// normalisation, key layout); empty for <c>.pth</c>, which holds the tensors only.</param>
public sealed record PyTorchExportSummary(
    string Format,
    IReadOnlyList<string> Keys,
    long ValueCount,
    long Bytes,
    IReadOnlyDictionary<string, string> Metadata);
