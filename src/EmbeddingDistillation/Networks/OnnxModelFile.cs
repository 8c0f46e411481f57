using System.Buffers.Binary;
using Google.Protobuf;

namespace EmbeddingDistillation.Networks;

/// <summary>
/// The parts of an ONNX model that weight import needs, read from the protobuf wire format (onnx.proto3): the graph's
/// nodes (op type, name, inputs, outputs, int/float attributes) in file order, its float initialisers, its inputs and
/// outputs, the producer and the opset. Nothing is executed.
/// </summary>
internal sealed class OnnxModelFile
{
    private OnnxModelFile(string source) => Source = source;

    public string Source { get; }
    public string Producer { get; private set; } = "";
    public string ProducerVersion { get; private set; } = "";
    public long Opset { get; private set; }
    public List<OnnxNodeInfo> Nodes { get; } = [];
    public Dictionary<string, OnnxFloatTensor> Initializers { get; } = new(StringComparer.Ordinal);
    public List<string> Inputs { get; } = [];
    public List<string> Outputs { get; } = [];

    public static OnnxModelFile Read(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (FileNotFoundException e)
        {
            throw new FileNotFoundException($"ONNX model '{path}' not found.", path, e);
        }
        return Parse(bytes, path);
    }

    public static OnnxModelFile Parse(byte[] bytes, string source)
    {
        var model = new OnnxModelFile(source);
        try
        {
            var input = new CodedInputStream(bytes);
            bool sawGraph = false;
            uint tag;
            while ((tag = input.ReadTag()) != 0)
            {
                switch (WireFormat.GetTagFieldNumber(tag))
                {
                    case 2 when WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited: model.Producer = input.ReadString(); break;
                    case 3 when WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited: model.ProducerVersion = input.ReadString(); break;
                    case 7 when WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited: model.ReadGraph(input.ReadBytes()); sawGraph = true; break;
                    case 8 when WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited: model.ReadOpset(input.ReadBytes()); break;
                    default: input.SkipLastField(); break;
                }
            }
            if (!sawGraph) throw new InvalidDataException($"'{source}' is not an ONNX model: it has no graph.");
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidDataException($"'{source}' is not a readable ONNX model: {e.Message}", e);
        }
        return model;
    }

    private void ReadOpset(ByteString bytes)
    {
        var input = bytes.CreateCodedInput();
        string domain = "";
        long version = 0;
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1: domain = input.ReadString(); break;
                case 2: version = input.ReadInt64(); break;
                default: input.SkipLastField(); break;
            }
        }
        if (domain.Length == 0 || domain == "ai.onnx") Opset = version;
    }

    private void ReadGraph(ByteString bytes)
    {
        var input = bytes.CreateCodedInput();
        var declaredInputs = new List<string>();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1: Nodes.Add(ReadNode(input.ReadBytes())); break;
                case 5:
                    var t = ReadTensor(input.ReadBytes());
                    if (t is not null) Initializers[t.Name] = t;
                    break;
                case 11: declaredInputs.Add(ReadValueInfoName(input.ReadBytes())); break;
                case 12: Outputs.Add(ReadValueInfoName(input.ReadBytes())); break;
                default: input.SkipLastField(); break;
            }
        }
        // Old IR versions list initialisers among the inputs too.
        Inputs.AddRange(declaredInputs.Where(i => !Initializers.ContainsKey(i)));
    }

    private static string ReadValueInfoName(ByteString bytes)
    {
        var input = bytes.CreateCodedInput();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (WireFormat.GetTagFieldNumber(tag) == 1) return input.ReadString();
            input.SkipLastField();
        }
        return "";
    }

    private static OnnxNodeInfo ReadNode(ByteString bytes)
    {
        var input = bytes.CreateCodedInput();
        var node = new OnnxNodeInfo();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1: node.Inputs.Add(input.ReadString()); break;
                case 2: node.Outputs.Add(input.ReadString()); break;
                case 3: node.Name = input.ReadString(); break;
                case 4: node.OpType = input.ReadString(); break;
                case 5: ReadAttribute(input.ReadBytes(), node); break;
                default: input.SkipLastField(); break;
            }
        }
        return node;
    }

    private static void ReadAttribute(ByteString bytes, OnnxNodeInfo node)
    {
        var input = bytes.CreateCodedInput();
        string name = "";
        long? i = null;
        float? f = null;
        var ints = new List<long>();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1: name = input.ReadString(); break;
                case 2: f = input.ReadFloat(); break;
                case 3: i = input.ReadInt64(); break;
                case 8:
                    if (WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
                    {
                        var packed = input.ReadBytes().CreateCodedInput();
                        while (!packed.IsAtEnd) ints.Add(packed.ReadInt64());
                    }
                    else ints.Add(input.ReadInt64());
                    break;
                default: input.SkipLastField(); break;
            }
        }
        if (i is long iv) node.Ints[name] = [iv];
        else if (ints.Count > 0) node.Ints[name] = ints.ToArray();
        if (f is float fv) node.Floats[name] = fv;
    }

    /// <summary>A float32 initialiser, or null for another element type.</summary>
    private static OnnxFloatTensor? ReadTensor(ByteString bytes)
    {
        var input = bytes.CreateCodedInput();
        var dims = new List<long>();
        int dataType = 0;
        string name = "";
        ByteString? raw = null;
        var floats = new List<float>();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1:
                    if (WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
                    {
                        var packed = input.ReadBytes().CreateCodedInput();
                        while (!packed.IsAtEnd) dims.Add(packed.ReadInt64());
                    }
                    else dims.Add(input.ReadInt64());
                    break;
                case 2: dataType = input.ReadInt32(); break;
                case 4:
                    if (WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
                    {
                        var packed = input.ReadBytes().Span;
                        for (int k = 0; k + 4 <= packed.Length; k += 4) floats.Add(BinaryPrimitives.ReadSingleLittleEndian(packed[k..]));
                    }
                    else floats.Add(input.ReadFloat());
                    break;
                case 8: name = input.ReadString(); break;
                case 9: raw = input.ReadBytes(); break;
                default: input.SkipLastField(); break;
            }
        }
        if (dataType != 1) return null; // FLOAT only
        float[] values;
        if (raw is not null && raw.Length > 0)
        {
            var span = raw.Span;
            values = new float[span.Length / 4];
            for (int k = 0; k < values.Length; k++) values[k] = BinaryPrimitives.ReadSingleLittleEndian(span[(4 * k)..]);
        }
        else values = floats.ToArray();
        long count = dims.Aggregate(1L, (a, d) => a * d);
        if (count != values.Length)
            throw new InvalidDataException($"ONNX initialiser '{name}' declares shape [{string.Join(", ", dims)}] ({count} values) but holds {values.Length}.");
        return new OnnxFloatTensor(name, dims.ToArray(), values);
    }
}

/// <summary>One ONNX node: op type, name, inputs, outputs and its int/float attributes.</summary>
internal sealed class OnnxNodeInfo
{
    public string OpType { get; set; } = "";
    public string Name { get; set; } = "";
    public List<string> Inputs { get; } = [];
    public List<string> Outputs { get; } = [];
    public Dictionary<string, long[]> Ints { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, float> Floats { get; } = new(StringComparer.Ordinal);

    public long[] IntsOr(string attribute, params long[] fallback) => Ints.TryGetValue(attribute, out var v) ? v : fallback;

    public override string ToString() => $"{OpType} '{Name}'";
}

/// <summary>A float32 initialiser.</summary>
internal sealed record OnnxFloatTensor(string Name, long[] Dims, float[] Values);
