using Google.Protobuf;

namespace EmbeddingDistillation.Onnx;

/// <summary>
/// Rewrites the batch dimension (dimension 0) of an ONNX model's graph inputs and outputs in the protobuf wire format,
/// copying every other field byte for byte. Used to make a batch-1 graph accept any batch; the caller checks that the
/// rewritten graph really computes per image (a graph with batch-specific shape constants does not).
/// </summary>
internal static class OnnxBatchDimension
{
    /// <summary>The symbolic name written for a dynamic batch dimension.</summary>
    public const string DynamicName = "batch";

    /// <summary>Returns the model with dimension 0 of the named inputs and of every output set to <paramref name="value"/> (null: symbolic).</summary>
    /// <remarks>The graph's <c>value_info</c> (optional intermediate shapes, which may state the old batch) is dropped; ONNX Runtime infers those shapes.</remarks>
    public static byte[] Rewrite(byte[] model, IReadOnlyCollection<string> inputs, long? value) =>
        RewriteFields(model, (field, bytes, output) =>
        {
            if (field != 7) return false;
            output.WriteTag(7, WireFormat.WireType.LengthDelimited);
            output.WriteBytes(ByteString.CopyFrom(RewriteGraph(bytes, inputs, value)));
            return true;
        });

    private static byte[] RewriteGraph(byte[] graph, IReadOnlyCollection<string> inputs, long? value) =>
        RewriteFields(graph, (field, bytes, output) =>
        {
            if (field == 13) return true; // value_info: dropped
            if (field != 11 && field != 12) return false;
            if (field == 11 && !inputs.Contains(ValueName(bytes), StringComparer.Ordinal)) return false;
            output.WriteTag(field, WireFormat.WireType.LengthDelimited);
            output.WriteBytes(ByteString.CopyFrom(Nested(bytes, [2, 1, 2], shape => FirstDimension(shape, value))));
            return true;
        });

    /// <summary>Rewrites the message at a path of length-delimited fields (ValueInfo.type -> TypeProto.tensor_type -> Tensor.shape).</summary>
    private static byte[] Nested(byte[] message, int[] path, Func<byte[], byte[]> leaf) =>
        RewriteFields(message, (field, bytes, output) =>
        {
            if (field != path[0]) return false;
            output.WriteTag(field, WireFormat.WireType.LengthDelimited);
            output.WriteBytes(ByteString.CopyFrom(path.Length == 1 ? leaf(bytes) : Nested(bytes, path[1..], leaf)));
            return true;
        });

    private static byte[] FirstDimension(byte[] shape, long? value)
    {
        bool done = false;
        return RewriteFields(shape, (field, _, output) =>
        {
            if (field != 1 || done) return false;
            done = true;
            var dim = new MemoryStream();
            var d = new CodedOutputStream(dim);
            if (value is long v) { d.WriteTag(1, WireFormat.WireType.Varint); d.WriteInt64(v); }
            else { d.WriteTag(2, WireFormat.WireType.LengthDelimited); d.WriteString(DynamicName); }
            d.Flush();
            output.WriteTag(1, WireFormat.WireType.LengthDelimited);
            output.WriteBytes(ByteString.CopyFrom(dim.ToArray()));
            return true;
        });
    }

    private static string ValueName(byte[] valueInfo)
    {
        var input = new CodedInputStream(valueInfo);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (WireFormat.GetTagFieldNumber(tag) == 1) return input.ReadString();
            input.SkipLastField();
        }
        return "";
    }

    /// <summary>
    /// Copies a message field by field; for each length-delimited field, <paramref name="replace"/> may write a
    /// replacement (or nothing, to drop it) and return true, or return false to keep the original bytes.
    /// </summary>
    private static byte[] RewriteFields(byte[] message, Func<int, byte[], CodedOutputStream, bool> replace)
    {
        var input = new CodedInputStream(message);
        var buffer = new MemoryStream(message.Length + 64);
        var output = new CodedOutputStream(buffer);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            int field = WireFormat.GetTagFieldNumber(tag);
            if (WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
            {
                var bytes = input.ReadBytes().ToByteArray();
                if (!replace(field, bytes, output)) { output.WriteTag(tag); output.WriteBytes(ByteString.CopyFrom(bytes)); }
            }
            else
            {
                output.WriteTag(tag);
                switch (WireFormat.GetTagWireType(tag))
                {
                    case WireFormat.WireType.Varint: output.WriteUInt64(input.ReadUInt64()); break;
                    case WireFormat.WireType.Fixed32: output.WriteFixed32(input.ReadFixed32()); break;
                    case WireFormat.WireType.Fixed64: output.WriteFixed64(input.ReadFixed64()); break;
                    default: throw new InvalidDataException($"Unsupported protobuf wire type in field {field} of an ONNX model.");
                }
            }
        }
        output.Flush();
        return buffer.ToArray();
    }
}
