namespace EmbeddingDistillation.Export;

/// <summary>An ONNX node attribute (only the kinds the exporter writes).</summary>
internal readonly record struct OnnxAttribute(string Name, int Type, long Int = 0, float Float = 0, long[]? Ints = null)
{
    // AttributeProto.AttributeType values from onnx.proto.
    private const int FloatType = 1, IntType = 2, IntsType = 7;

    public static OnnxAttribute OfInt(string name, long value) => new(name, IntType, Int: value);

    public static OnnxAttribute OfFloat(string name, float value) => new(name, FloatType, Float: value);

    public static OnnxAttribute OfInts(string name, params long[] values) => new(name, IntsType, Ints: values);

    public ProtoMessage Encode()
    {
        var m = new ProtoMessage().String(1, Name).Int64(20, Type);
        switch (Type)
        {
            case FloatType: m.Float(2, Float); break;
            case IntType: m.Int64(3, Int); break;
            case IntsType: m.Int64s(8, Ints!); break;
        }
        return m;
    }
}

/// <summary>
/// Accumulates the nodes and initialisers of one ONNX graph, hands out unique value names and counts the
/// operators used.
/// </summary>
internal sealed class OnnxGraph
{
    // TensorProto.DataType values.
    private const int FloatElement = 1, Int64Element = 7;

    private readonly List<ProtoMessage> nodes = new();
    private readonly List<ProtoMessage> initializers = new();
    private readonly HashSet<string> names = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> operatorCounts = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, int> OperatorCounts => operatorCounts;

    public int NodeCount => nodes.Count;

    public int InitializerCount => initializers.Count;

    public long WeightCount { get; private set; }

    /// <summary>Reserves a name (graph inputs) so nothing else takes it.</summary>
    public string Reserve(string name)
    {
        if (!names.Add(name)) throw new InvalidOperationException($"Duplicate ONNX value name '{name}'.");
        return name;
    }

    /// <summary>A fresh name based on <paramref name="hint"/> (module paths are unique, but folded weights and
    /// helper values may reuse a path).</summary>
    public string Unique(string hint)
    {
        if (names.Add(hint)) return hint;
        for (int i = 1; ; i++)
        {
            var candidate = $"{hint}_{i}";
            if (names.Add(candidate)) return candidate;
        }
    }

    public string AddFloatInitializer(string hint, float[] values, params long[] dims)
    {
        CheckCount(hint, values.Length, dims);
        var name = Unique(hint);
        initializers.Add(new ProtoMessage().Int64s(1, dims).Int64(2, FloatElement).String(8, name).Bytes(9, ProtoMessage.RawFloats(values)));
        WeightCount += values.Length;
        return name;
    }

    public string AddInt64Initializer(string hint, long[] values, params long[] dims)
    {
        CheckCount(hint, values.Length, dims);
        var name = Unique(hint);
        initializers.Add(new ProtoMessage().Int64s(1, dims).Int64(2, Int64Element).String(8, name).Bytes(9, ProtoMessage.RawInt64s(values)));
        return name;
    }

    /// <summary>Adds a node with one output, named after <paramref name="outputHint"/>; returns the output name.</summary>
    public string AddNode(string opType, string outputHint, IEnumerable<string> inputs, params OnnxAttribute[] attributes)
    {
        var output = Unique(outputHint);
        var node = new ProtoMessage()
            .Strings(1, inputs)
            .String(2, output)
            .String(3, output)
            .String(4, opType)
            .Messages(5, attributes.Select(a => a.Encode()));
        nodes.Add(node);
        operatorCounts[opType] = operatorCounts.GetValueOrDefault(opType) + 1;
        return output;
    }

    /// <summary>A ValueInfoProto of a float tensor; each dimension is a fixed size or a symbolic name.</summary>
    public static ProtoMessage FloatValueInfo(string name, IEnumerable<object> dims)
    {
        var shape = new ProtoMessage();
        foreach (var d in dims)
        {
            var dim = d switch
            {
                long n => new ProtoMessage().Int64(1, n),
                int n => new ProtoMessage().Int64(1, n),
                string s => new ProtoMessage().String(2, s),
                _ => throw new ArgumentException($"Bad dimension {d}."),
            };
            shape.Message(1, dim);
        }
        var tensorType = new ProtoMessage().Int64(1, FloatElement).Message(2, shape);
        return new ProtoMessage().String(1, name).Message(2, new ProtoMessage().Message(1, tensorType));
    }

    /// <summary>Encodes the GraphProto.</summary>
    public ProtoMessage Encode(string graphName, ProtoMessage input, ProtoMessage output) =>
        new ProtoMessage()
            .Messages(1, nodes)
            .String(2, graphName)
            .Messages(5, initializers)
            .Message(11, input)
            .Message(12, output);

    private static void CheckCount(string name, int count, long[] dims)
    {
        long expected = dims.Aggregate(1L, (a, b) => a * b);
        if (expected != count) throw new InvalidOperationException($"Initializer '{name}' has {count} values for shape [{string.Join(", ", dims)}].");
    }
}
