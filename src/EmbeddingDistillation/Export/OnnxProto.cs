using System.Buffers.Binary;
using Google.Protobuf;

namespace EmbeddingDistillation.Export;

/// <summary>
/// A minimal writer of the protobuf wire format for the few ONNX messages the exporter needs. Each message is
/// encoded into its own buffer with Google.Protobuf's <see cref="CodedOutputStream"/>, then embedded in its
/// parent as a length-delimited field.
/// </summary>
/// <remarks>
/// Field numbers are those of the public <c>onnx.proto</c> (proto2; repeated scalars are written unpacked,
/// which every parser accepts):
/// <list type="bullet">
/// <item>ModelProto: ir_version 1, producer_name 2, producer_version 3, domain 4, model_version 5, doc_string 6,
/// graph 7, opset_import 8.</item>
/// <item>OperatorSetIdProto: domain 1, version 2.</item>
/// <item>GraphProto: node 1, name 2, initializer 5, doc_string 10, input 11, output 12.</item>
/// <item>NodeProto: input 1, output 2, name 3, op_type 4, attribute 5, domain 7.</item>
/// <item>AttributeProto: name 1, f 2, i 3, s 4, floats 7, ints 8, type 20 (FLOAT 1, INT 2, STRING 3, FLOATS 6,
/// INTS 7).</item>
/// <item>TensorProto: dims 1, data_type 2 (FLOAT 1, INT64 7), name 8, raw_data 9 (little-endian).</item>
/// <item>ValueInfoProto: name 1, type 2. TypeProto: tensor_type 1. TypeProto.Tensor: elem_type 1, shape 2.
/// TensorShapeProto: dim 1. TensorShapeProto.Dimension: dim_value 1, dim_param 2.</item>
/// </list>
/// </remarks>
internal sealed class ProtoMessage
{
    private readonly MemoryStream buffer = new();
    private readonly CodedOutputStream output;

    public ProtoMessage() => output = new CodedOutputStream(buffer, leaveOpen: true);

    public ProtoMessage Int64(int field, long value)
    {
        output.WriteTag(field, WireFormat.WireType.Varint);
        output.WriteInt64(value);
        return this;
    }

    public ProtoMessage Int64s(int field, IEnumerable<long> values)
    {
        foreach (var v in values) Int64(field, v);
        return this;
    }

    public ProtoMessage Float(int field, float value)
    {
        output.WriteTag(field, WireFormat.WireType.Fixed32);
        output.WriteFloat(value);
        return this;
    }

    public ProtoMessage Floats(int field, IEnumerable<float> values)
    {
        foreach (var v in values) Float(field, v);
        return this;
    }

    public ProtoMessage String(int field, string value)
    {
        output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        output.WriteString(value);
        return this;
    }

    public ProtoMessage Strings(int field, IEnumerable<string> values)
    {
        foreach (var v in values) String(field, v);
        return this;
    }

    public ProtoMessage Bytes(int field, ReadOnlyMemory<byte> value)
    {
        output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(UnsafeByteOperations.UnsafeWrap(value));
        return this;
    }

    public ProtoMessage Message(int field, ProtoMessage message) => Bytes(field, message.ToMemory());

    public ProtoMessage Messages(int field, IEnumerable<ProtoMessage> messages)
    {
        foreach (var m in messages) Message(field, m);
        return this;
    }

    /// <summary>The encoded message (valid until the next write).</summary>
    public ReadOnlyMemory<byte> ToMemory()
    {
        output.Flush();
        return new ReadOnlyMemory<byte>(buffer.GetBuffer(), 0, checked((int)buffer.Length));
    }

    /// <summary>Little-endian float32 bytes, as TensorProto.raw_data requires on any host.</summary>
    public static byte[] RawFloats(ReadOnlySpan<float> values)
    {
        var bytes = new byte[checked(values.Length * 4)];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), values[i]);
        return bytes;
    }

    /// <summary>Little-endian int64 bytes for TensorProto.raw_data.</summary>
    public static byte[] RawInt64s(ReadOnlySpan<long> values)
    {
        var bytes = new byte[checked(values.Length * 8)];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(i * 8), values[i]);
        return bytes;
    }
}
