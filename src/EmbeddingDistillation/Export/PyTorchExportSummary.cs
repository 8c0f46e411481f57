namespace EmbeddingDistillation.Export;

/// <summary>What <see cref="PyTorchExporter"/> wrote.</summary>
public sealed class PyTorchExportSummary
{
    internal PyTorchExportSummary(string format, IReadOnlyList<string> keys, long valueCount, long bytes, IReadOnlyDictionary<string, string> metadata)
    {
        Format = format;
        Keys = keys;
        ValueCount = valueCount;
        Bytes = bytes;
        Metadata = metadata;
    }

    /// <summary><c>safetensors</c> or <c>pth</c>.</summary>
    public string Format { get; }

    /// <summary>The state-dict keys written, in ordinal order (the module's own names).</summary>
    public IReadOnlyList<string> Keys { get; }

    /// <summary>Number of values stored (float32 weights and statistics, int64 counters).</summary>
    public long ValueCount { get; }

    /// <summary>Size of the file in bytes.</summary>
    public long Bytes { get; }

    /// <summary>The safetensors <c>__metadata__</c> written (architecture, embedding dimension, normalisation, key
    /// layout); empty for <c>.pth</c>, which holds the tensors only.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }
}
