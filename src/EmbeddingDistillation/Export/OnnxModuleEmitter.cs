using EmbeddingDistillation.Networks;
using static EmbeddingDistillation.Primitives.ModuleArguments;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Export;

/// <summary>
/// Walks an <see cref="EmbeddingNetwork"/>'s module tree and emits the equivalent ONNX nodes in inference (eval)
/// semantics. The forward structure of each block type is encoded here (the modules are never run), so the
/// module's train/eval mode is irrelevant and left untouched.
/// </summary>
internal sealed class OnnxModuleEmitter
{
    /// <summary>The layer types supported inside user modules (for error messages).</summary>
    internal const string SupportedLayers =
        "Sequential, Conv2d, BatchNorm2d, ReLU, ReLU6, MaxPool2d, AvgPool2d, Identity, Dropout, and this library's blocks and backbones";

    private readonly OnnxGraph graph;
    private readonly OnnxExportOptions options;
    private readonly Dictionary<float, string> scalars = new();

    public OnnxModuleEmitter(OnnxGraph graph, OnnxExportOptions options)
    {
        this.graph = graph;
        this.options = options;
    }

    /// <summary>Emits the whole network; returns the name of the embedding value.</summary>
    public string EmitNetwork(EmbeddingNetwork network, string input, string outputName)
    {
        var features = Emit(network.Backbone, "backbone", input);
        var pooled = graph.AddNode("GlobalAveragePool", "head.pool", new[] { features });
        var flat = graph.AddNode("Flatten", "head.flatten", new[] { pooled }, OnnxAttribute.OfInt("axis", 1));
        var head = network.Head;
        var w = ToFloats(head.weight!);
        var inputs = new List<string> { flat, graph.AddFloatInitializer("head.weight", w, head.out_features, head.in_features) };
        if (head.bias is not null) inputs.Add(graph.AddFloatInitializer("head.bias", ToFloats(head.bias), head.out_features));
        if (!network.Normalize)
            return graph.AddNode("Gemm", outputName, inputs, OnnxAttribute.OfInt("transB", 1));
        var e = graph.AddNode("Gemm", "head", inputs, OnnxAttribute.OfInt("transB", 1));
        return EmitL2Normalize(e, outputName);
    }

    // F.normalize(e, p: 2, dim: 1, eps: 1e-12) = e / max(||e||_2, 1e-12). LpNormalization has no eps, so it is
    // spelled out; ReduceL2 moved its axes from an attribute to an input in opset 18.
    private string EmitL2Normalize(string e, string outputName)
    {
        string norm = options.Opset >= 18
            ? graph.AddNode("ReduceL2", "head.norm", new[] { e, graph.AddInt64Initializer("head.norm.axes", new[] { 1L }, 1) },
                OnnxAttribute.OfInt("keepdims", 1))
            : graph.AddNode("ReduceL2", "head.norm", new[] { e },
                OnnxAttribute.OfInts("axes", 1), OnnxAttribute.OfInt("keepdims", 1));
        var clamped = graph.AddNode("Max", "head.norm_clamped", new[] { norm, Scalar(1e-12f) });
        return graph.AddNode("Div", outputName, new[] { e, clamped });
    }

    private string Emit(nn.Module module, string path, string x)
    {
        switch (module)
        {
            case ResNetBackbone { Layout: { } layout } when layout.BeginHeavyPadding || layout.Input is not null:
                throw new NotSupportedException(
                    $"The ONNX exporter cannot write {path} ('{layout.Name}'): its CNTK-style asymmetric padding and input adapter have no translation yet. " +
                    "Export a network built with EmbeddingNetworks, or run the original ONNX file.");
            case ResNetBackbone:
            {
                x = EmitConv(Child<Conv2d>(module, "conv1", path), Child<BatchNorm2d>(module, "bn1", path), $"{path}.conv1", $"{path}.bn1", x);
                x = Emit(Child<ReLU>(module, "relu", path), $"{path}.relu", x);
                if (TryChild(module, "maxpool") is { } pool) x = Emit(pool, $"{path}.maxpool", x);
                for (int i = 1; i <= 4; i++) x = Emit(Child<Sequential>(module, $"layer{i}", path), $"{path}.layer{i}", x);
                return x;
            }
            case MobileNetV1Backbone or MobileNetV2Backbone:
                return Emit(Child<Sequential>(module, "features", path), $"{path}.features", x);
            case ModuleBackbone:
                return Emit(Child<nn.Module>(module, "module", path), $"{path}.module", x);
            case BasicBlock:
                return EmitResidualBlock(module, path, x, 2);
            case Bottleneck:
                return EmitResidualBlock(module, path, x, 3);
            case DepthwiseSeparableBlock:
                x = Emit(Child<Sequential>(module, "dw", path), $"{path}.dw", x);
                return Emit(Child<Sequential>(module, "pw", path), $"{path}.pw", x);
            case InvertedResidual block:
            {
                var y = Emit(Child<Sequential>(module, "conv", path), $"{path}.conv", x);
                return block.UsesResidual ? graph.AddNode("Add", $"{path}.add", new[] { x, y }) : y;
            }
            case Sequential:
                return EmitSequential(module, path, x);
            case Conv2d conv:
                return EmitConv(conv, null, path, null, x);
            case BatchNorm2d bn:
                return EmitBatchNorm(bn, path, x);
            case ReLU:
                return graph.AddNode("Relu", path, new[] { x });
            case ReLU6:
                return graph.AddNode("Clip", path, new[] { x, Scalar(0f), Scalar(6f) });
            case MaxPool2d pool:
                return EmitMaxPool(pool, path, x);
            case AvgPool2d pool:
                return EmitAvgPool(pool, path, x);
            case Identity or Dropout:
                return x; // Dropout is the identity in eval mode.
            default:
                throw Unsupported(module, path);
        }
    }

    // BasicBlock (2 convs) and Bottleneck (3 convs): relu(bnK(convK(...relu(bn1(conv1 x))...)) + identity).
    private string EmitResidualBlock(nn.Module block, string path, string x, int convs)
    {
        var identity = TryChild(block, "downsample") is { } down ? Emit(down, $"{path}.downsample", x) : x;
        var relu = Child<ReLU>(block, "relu", path);
        var y = x;
        for (int i = 1; i <= convs; i++)
        {
            y = EmitConv(Child<Conv2d>(block, $"conv{i}", path), Child<BatchNorm2d>(block, $"bn{i}", path), $"{path}.conv{i}", $"{path}.bn{i}", y);
            if (i < convs) y = Emit(relu, $"{path}.relu{i}", y);
        }
        var sum = graph.AddNode("Add", $"{path}.add", new[] { y, identity });
        return Emit(relu, $"{path}.relu", sum);
    }

    private string EmitSequential(nn.Module sequential, string path, string x)
    {
        var children = sequential.named_children().ToArray();
        for (int i = 0; i < children.Length; i++)
        {
            var (name, child) = children[i];
            if (child is Conv2d conv && options.FoldBatchNorm && i + 1 < children.Length && children[i + 1].module is BatchNorm2d bn)
            {
                x = EmitConv(conv, bn, $"{path}.{name}", $"{path}.{children[i + 1].name}", x);
                i++;
            }
            else
            {
                x = Emit(child, $"{path}.{name}", x);
            }
        }
        return x;
    }

    /// <summary>A Conv node, with the following BatchNorm2d folded in (or emitted after it when folding is off).</summary>
    private string EmitConv(Conv2d conv, BatchNorm2d? bn, string path, string? bnPath, string x)
    {
        if (conv.padding_mode != PaddingModes.Zeros)
            throw new NotSupportedException($"The ONNX exporter does not support the layer {path} (Conv2d with padding_mode {conv.padding_mode}); only zero padding is supported.");
        long outC = conv.out_channels, groups = conv.groups;
        var kernel = Pair(conv.kernel_size, 1);
        var stride = Pair(conv.stride, 1);
        var dilation = Pair(conv.dilation, 1);
        long[] pads = conv.padding_type switch
        {
            Padding.Valid => new long[] { 0, 0, 0, 0 },
            // 'same' (stride 1 only in PyTorch): the extra pixel of an even total goes to the end, as in PyTorch.
            Padding.Same => SamePads(kernel, dilation),
            _ => Pair(conv.padding, 0) is var p ? new[] { p[0], p[1], p[0], p[1] } : throw new InvalidOperationException(),
        };
        var w = ToDoubles(conv.weight!);
        double[]? b = conv.bias is null ? null : ToDoubles(conv.bias);
        bool fold = bn is not null && options.FoldBatchNorm;
        if (fold)
        {
            var (scale, shift) = BatchNormAffine(bn!, bnPath!);
            long perOut = w.Length / outC;
            b ??= new double[outC];
            for (long o = 0; o < outC; o++)
            {
                for (long k = 0; k < perOut; k++) w[o * perOut + k] *= scale[o];
                b[o] = b[o] * scale[o] + shift[o];
            }
        }
        var inputs = new List<string> { x, graph.AddFloatInitializer($"{path}.weight", ToFloats(w), conv.weight!.shape) };
        if (b is not null) inputs.Add(graph.AddFloatInitializer($"{path}.bias", ToFloats(b), outC));
        var y = graph.AddNode("Conv", fold ? bnPath! : path, inputs,
            OnnxAttribute.OfInts("kernel_shape", kernel),
            OnnxAttribute.OfInts("strides", stride),
            OnnxAttribute.OfInts("pads", pads),
            OnnxAttribute.OfInts("dilations", dilation),
            OnnxAttribute.OfInt("group", groups));
        return bn is not null && !fold ? EmitBatchNorm(bn, bnPath!, y) : y;
    }

    private string EmitBatchNorm(BatchNorm2d bn, string path, string x)
    {
        var (mean, variance) = RunningStats(bn, path);
        long c = bn.num_features;
        var gamma = bn.weight is null ? Enumerable.Repeat(1.0, (int)c).ToArray() : ToDoubles(bn.weight);
        var beta = bn.bias is null ? new double[c] : ToDoubles(bn.bias);
        var inputs = new[]
        {
            x,
            graph.AddFloatInitializer($"{path}.weight", ToFloats(gamma), c),
            graph.AddFloatInitializer($"{path}.bias", ToFloats(beta), c),
            graph.AddFloatInitializer($"{path}.running_mean", ToFloats(mean), c),
            graph.AddFloatInitializer($"{path}.running_var", ToFloats(variance), c),
        };
        return graph.AddNode("BatchNormalization", path, inputs, OnnxAttribute.OfFloat("epsilon", (float)bn.eps));
    }

    /// <summary>Eval-mode BN as y = scale * x + shift, computed in float64 from the running statistics.</summary>
    private static (double[] Scale, double[] Shift) BatchNormAffine(BatchNorm2d bn, string path)
    {
        var (mean, variance) = RunningStats(bn, path);
        long c = bn.num_features;
        var gamma = bn.weight is null ? null : ToDoubles(bn.weight);
        var beta = bn.bias is null ? null : ToDoubles(bn.bias);
        var scale = new double[c];
        var shift = new double[c];
        for (long i = 0; i < c; i++)
        {
            scale[i] = (gamma?[i] ?? 1.0) / Math.Sqrt(variance[i] + bn.eps);
            shift[i] = (beta?[i] ?? 0.0) - mean[i] * scale[i];
        }
        return (scale, shift);
    }

    private static (double[] Mean, double[] Var) RunningStats(BatchNorm2d bn, string path)
    {
        if (bn.running_mean is null || bn.running_var is null)
            throw new NotSupportedException(
                $"The ONNX exporter does not support the layer {path} (BatchNorm2d without running statistics, track_running_stats = false): its eval-mode output depends on the batch.");
        return (ToDoubles(bn.running_mean), ToDoubles(bn.running_var));
    }

    private string EmitMaxPool(MaxPool2d pool, string path, string x)
    {
        var kernel = Pair(pool.kernel_size, 1);
        var stride = pool.stride is null ? kernel : Pair(pool.stride, 1);
        var pad = Pair(pool.padding, 0);
        var dilation = Pair(pool.dilation, 1);
        return graph.AddNode("MaxPool", path, new[] { x },
            OnnxAttribute.OfInts("kernel_shape", kernel),
            OnnxAttribute.OfInts("strides", stride),
            OnnxAttribute.OfInts("pads", pad[0], pad[1], pad[0], pad[1]),
            OnnxAttribute.OfInts("dilations", dilation),
            OnnxAttribute.OfInt("ceil_mode", pool.ceil_mode ? 1 : 0));
    }

    private string EmitAvgPool(AvgPool2d pool, string path, string x)
    {
        // ceil_mode windows and divisor_override have no exact ONNX AveragePool equivalent across opsets.
        if (pool.ceil_mode || pool.divisor_override is not null)
            throw new NotSupportedException($"The ONNX exporter does not support the layer {path} (AvgPool2d with ceil_mode or divisor_override).");
        var kernel = Pair(pool.kernel_size, 1);
        var stride = pool.stride is null ? kernel : Pair(pool.stride, 1);
        var pad = Pair(pool.padding, 0);
        return graph.AddNode("AveragePool", path, new[] { x },
            OnnxAttribute.OfInts("kernel_shape", kernel),
            OnnxAttribute.OfInts("strides", stride),
            OnnxAttribute.OfInts("pads", pad[0], pad[1], pad[0], pad[1]),
            OnnxAttribute.OfInt("count_include_pad", pool.count_include_pad ? 1 : 0));
    }

    /// <summary>A shared float32 scalar (shape []) initialiser.</summary>
    private string Scalar(float value)
    {
        if (!scalars.TryGetValue(value, out var name))
        {
            name = graph.AddFloatInitializer($"const_{value.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}", new[] { value });
            scalars[value] = name;
        }
        return name;
    }

    private static NotSupportedException Unsupported(nn.Module module, string path) =>
        new($"The ONNX exporter does not support the layer {path} ({module.GetType().Name}). Supported inside a backbone: {SupportedLayers}. " +
            "Replace the layer, or wrap only supported layers in the ModuleBackbone.");

    private static nn.Module? TryChild(nn.Module module, string name)
    {
        foreach (var (n, m) in module.named_children())
            if (n == name) return m;
        return null;
    }

    private static T Child<T>(nn.Module module, string name, string path) where T : nn.Module =>
        TryChild(module, name) switch
        {
            T m => m,
            null => throw new InvalidOperationException($"Module {path} ({module.GetType().Name}) has no child '{name}'."),
            var other => throw new NotSupportedException(
                $"The ONNX exporter does not support the layer {path}.{name} ({other.GetType().Name}); expected {typeof(T).Name} there."),
        };

    private static long[] SamePads(long[] kernel, long[] dilation)
    {
        long th = dilation[0] * (kernel[0] - 1), tw = dilation[1] * (kernel[1] - 1);
        return new[] { th / 2, tw / 2, th - th / 2, tw - tw / 2 };
    }

    private static double[] ToDoubles(Tensor t)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return t.detach().to(ScalarType.Float64, CPU).contiguous().data<double>().ToArray();
    }

    private static float[] ToFloats(Tensor t)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return t.detach().to(ScalarType.Float32, CPU).contiguous().data<float>().ToArray();
    }

    private static float[] ToFloats(double[] values) => Array.ConvertAll(values, v => (float)v);
}
