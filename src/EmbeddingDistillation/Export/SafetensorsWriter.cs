using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Encodings.Web;
using System.Text.Json;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Export;

/// <summary>
/// Writes the safetensors format (https://github.com/huggingface/safetensors):
/// <code>
/// header length  uint64 little-endian, N
/// header         N bytes of UTF-8 JSON, padded with spaces to a multiple of 8 bytes:
///                { "__metadata__": { string: string, ... },
///                  "key": { "dtype": "F32", "shape": [d0, d1, ...], "data_offsets": [begin, end] }, ... }
/// data           the tensors' bytes, row-major, little-endian, back to back in the order of the keys
/// </code>
/// Offsets are relative to the start of the data; they start at 0, are contiguous and end at the file's end, as the
/// reference loader requires. Keys are written in ordinal order.
/// </summary>
internal static class SafetensorsWriter
{
    private const int Alignment = 8;

    /// <summary>The safetensors dtype name of a tensor that <see cref="Write"/> accepts.</summary>
    internal static string DtypeName(ScalarType dtype) => dtype switch
    {
        ScalarType.Float32 => "F32",
        ScalarType.Int64 => "I64",
        _ => throw new NotSupportedException($"The safetensors writer stores F32 and I64 tensors; got {dtype}."),
    };

    /// <summary>Writes the tensors (CPU, contiguous, of a dtype <see cref="DtypeName"/> accepts) to the stream.</summary>
    /// <param name="stream">The target (left open).</param>
    /// <param name="tensors">Tensors by key; written in ordinal key order.</param>
    /// <param name="metadata">String metadata for <c>__metadata__</c>; null or empty for none.</param>
    internal static void Write(Stream stream, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("The safetensors writer needs a little-endian machine (safetensors data is little-endian).");
        var keys = tensors.Keys.OrderBy(k => k, StringComparer.Ordinal).ToArray();
        if (keys.Contains("__metadata__", StringComparer.Ordinal))
            throw new ArgumentException("'__metadata__' is reserved in safetensors files and cannot name a tensor.", nameof(tensors));

        using var json = new MemoryStream();
        using (var writer = new Utf8JsonWriter(json, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                writer.WriteStartObject("__metadata__");
                foreach (var (k, v) in metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal)) writer.WriteString(k, v);
                writer.WriteEndObject();
            }
            long offset = 0;
            foreach (var key in keys)
            {
                var t = tensors[key];
                long length = t.NumberOfElements * t.ElementSize;
                writer.WriteStartObject(key);
                writer.WriteString("dtype", DtypeName(t.dtype));
                writer.WriteStartArray("shape");
                foreach (var d in t.shape) writer.WriteNumberValue(d);
                writer.WriteEndArray();
                writer.WriteStartArray("data_offsets");
                writer.WriteNumberValue(offset);
                writer.WriteNumberValue(offset + length);
                writer.WriteEndArray();
                writer.WriteEndObject();
                offset += length;
            }
            writer.WriteEndObject();
        }
        // Pad with spaces so that the data starts 8-byte aligned (the reference writer does the same).
        while (json.Length % Alignment != 0) json.WriteByte((byte)' ');

        Span<byte> length8 = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length8, (ulong)json.Length);
        stream.Write(length8);
        json.Position = 0;
        json.CopyTo(stream);
        foreach (var key in keys) WriteData(stream, tensors[key]);
    }

    private static void WriteData(Stream stream, Tensor t)
    {
        if (t.NumberOfElements == 0) return;
        switch (t.dtype)
        {
            case ScalarType.Float32: stream.Write(MemoryMarshal.AsBytes(t.data<float>().ToArray().AsSpan())); break;
            case ScalarType.Int64: stream.Write(MemoryMarshal.AsBytes(t.data<long>().ToArray().AsSpan())); break;
            default: throw new NotSupportedException($"Cannot write a {t.dtype} tensor.");
        }
    }
}
