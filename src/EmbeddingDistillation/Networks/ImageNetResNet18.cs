using System.Globalization;
using EmbeddingDistillation.Data;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Networks;

/// <summary>What the network built by <see cref="ImageNetResNet18"/> takes as input.</summary>
public enum ImageNetResNet18Input
{
    /// <summary>
    /// Images normalised as the library's datasets normalise them: RGB, <c>(x - SourceMean) / SourceStd</c> with
    /// x in [0, 1] (ImageNet's mean and std by default). An exact per-channel adapter before <c>conv1</c> turns them
    /// into the CNTK model's input.
    /// </summary>
    Normalized,

    /// <summary>The ONNX model's own input: BGR in 0-255 minus the mean (what ML.NET's ResNetPreprocess.onnx produces).</summary>
    Cntk,
}

/// <summary>Options of <see cref="ImageNetResNet18.Load"/>. All optional.</summary>
public sealed record ImageNetResNet18Options
{
    /// <summary>The <c>ResNet18.onnx</c> file; null (default) = <see cref="ImageNetResNet18.FindModelFile"/>.</summary>
    public string? ModelPath { get; init; }

    /// <summary>What the network takes. Default <see cref="ImageNetResNet18Input.Normalized"/>.</summary>
    public ImageNetResNet18Input Input { get; init; } = ImageNetResNet18Input.Normalized;

    /// <summary>The per-channel mean (R, G, B, [0, 1] units) of the incoming images with <see cref="ImageNetResNet18Input.Normalized"/>; null (default) = ImageNet's.</summary>
    public IReadOnlyList<float>? SourceMean { get; init; }

    /// <summary>The per-channel standard deviation (R, G, B) of the incoming images; null (default) = ImageNet's.</summary>
    public IReadOnlyList<float>? SourceStd { get; init; }

    /// <summary>
    /// With D = 512, make the head the identity (default true): the embedding is then the L2-normalised pooled ImageNet
    /// feature, what ML.NET's featurizer outputs, normalised, a sensible frozen teacher. With another D, or false, the
    /// head is initialised as every head (kaiming normal, fan_out; bias zero) and needs training.
    /// </summary>
    public bool IdentityHead { get; init; } = true;

    /// <summary>L2-normalise the embedding. Default true.</summary>
    public bool Normalize { get; init; } = true;
}

/// <summary>
/// An ImageNet-pretrained ResNet-18 that works offline: the weights of ML.NET's
/// <c>Microsoft.ML.DnnImageFeaturizer.ResNet18</c> NuGet package (MIT; <c>ResNet18.onnx</c>, a CNTK 2.6 export) read
/// into the library's ResNet backbone, whose outputs then equal ONNX Runtime's on that file.
/// </summary>
/// <remarks>
/// <para>The CNTK network is not torchvision's ResNet-18: its last stage has three blocks (2, 2, 2, 3; 22
/// convolutions), and its stride-2 convolutions and max-pool pad one row and column more before than after (ONNX pads
/// [3, 3, 2, 2] on the 7x7 stem, [1, 1, 0, 0] on the max-pool and the stride-2 3x3 convolutions). The backbone
/// (<c>resnet18-cntk</c>) reproduces both; its state-dict keys are torchvision's plus <c>layer4.2.*</c>. Its input is
/// BGR in 0-255 minus a mean image (ML.NET's <c>ResNetPreprocess.onnx</c>); the network built here subtracts the
/// per-channel mean of that image (<see cref="ChannelMeanBgr"/>) instead, and by default adapts the library's
/// ImageNet-normalised RGB images to that input exactly. The last map is averaged globally (the file's 7x7
/// AveragePool, which is the same at 224 px).</para>
/// <para>Restore the package without adding it to your build, e.g.
/// <c>&lt;PackageDownload Include="Microsoft.ML.DnnImageFeaturizer.ResNet18" Version="[0.23.1]" /&gt;</c>; the file
/// then lies in the NuGet cache, where <see cref="FindModelFile"/> looks.</para>
/// </remarks>
public static class ImageNetResNet18
{
    /// <summary>The NuGet package that ships the weights.</summary>
    public const string PackageId = "Microsoft.ML.DnnImageFeaturizer.ResNet18";

    /// <summary>The package version the import was verified with.</summary>
    public const string PackageVersion = "0.23.1";

    /// <summary>The model's path inside the package.</summary>
    public const string PackageModelPath = "tools/DnnImageModels/ResNet18Onnx/ResNet18.onnx";

    /// <summary>The model's path in an application's output folder when the package is referenced normally.</summary>
    public const string OutputModelPath = "DnnImageModels/ResNet18Onnx/ResNet18.onnx";

    /// <summary>The network's backbone name (and the start of its network name, <c>resnet18-cntk-512</c>).</summary>
    public const string BackboneName = "resnet18-cntk";

    /// <summary>
    /// The per-channel means (B, G, R, in 0-255) of the mean image that ML.NET's <c>ResNetPreprocess.onnx</c>
    /// subtracts (its pixels vary by 3-6 around these).
    /// </summary>
    public static IReadOnlyList<float> ChannelMeanBgr { get; } = [103.062624f, 115.902882f, 123.151631f];

    /// <summary>
    /// Finds <c>ResNet18.onnx</c>: the application's output folder (<see cref="OutputModelPath"/>), then the NuGet
    /// package cache (<c>NUGET_PACKAGES</c>, else <c>~/.nuget/packages</c>) at <see cref="PackageVersion"/>.
    /// </summary>
    /// <returns>The file's path, or null when it is in none of them.</returns>
    public static string? FindModelFile() => Candidates().FirstOrDefault(File.Exists);

    /// <summary>
    /// The paths <see cref="FindModelFile"/> tries, in order (for messages that say where the file was looked for).
    /// </summary>
    public static IReadOnlyList<string> ModelFileLocations() => [.. Candidates()];

    /// <summary>Builds the ResNet-18 and loads the ONNX file's weights into it.</summary>
    /// <param name="embeddingDimension">D (default 512).</param>
    /// <param name="options">Options; null for the defaults.</param>
    /// <returns>The network, on the CPU in float32, in eval mode.</returns>
    /// <exception cref="FileNotFoundException">No path was given and the file is in none of the places <see cref="FindModelFile"/> looks.</exception>
    /// <exception cref="InvalidDataException">The file is not the CNTK ResNet-18 this import knows (its message names the node at fault).</exception>
    public static EmbeddingNetwork Load(int embeddingDimension = 512, ImageNetResNet18Options? options = null)
    {
        options ??= new ImageNetResNet18Options();
        if (embeddingDimension < 1)
            throw new ArgumentOutOfRangeException(nameof(embeddingDimension), embeddingDimension, "The embedding dimension must be positive.");
        var path = options.ModelPath ?? FindModelFile() ?? throw new FileNotFoundException(
            $"ResNet18.onnx was not found (looked in: {string.Join(", ", Candidates())}). Restore the NuGet package {PackageId} {PackageVersion}, " +
            $"e.g. <PackageDownload Include=\"{PackageId}\" Version=\"[{PackageVersion}]\" /> in your project, or pass ImageNetResNet18Options.ModelPath.");
        if (!File.Exists(path)) throw new FileNotFoundException($"ResNet18.onnx '{path}' (ImageNetResNet18Options.ModelPath) not found.", path);
        var model = OnnxModelFile.Read(path);

        var layout = new ResNetLayout(BackboneName, [2, 2, 2, 3], BeginHeavyPadding: true, Adapter(options));
        var backbone = new ResNetBackbone(18, 64, smallInputStem: false, layout);
        var network = new EmbeddingNetwork($"{BackboneName}-{embeddingDimension}", backbone, embeddingDimension, options.Normalize);
        CopyWeights(model, backbone);
        if (options.IdentityHead && embeddingDimension == backbone.OutputChannels)
        {
            using var noGrad = no_grad();
            network.Head.weight!.copy_(eye(embeddingDimension));
            network.Head.bias!.zero_();
        }
        network.eval();
        return network;
    }

    private static IEnumerable<string> Candidates()
    {
        yield return Path.Combine(AppContext.BaseDirectory, OutputModelPath);
        var root = Environment.GetEnvironmentVariable("NUGET_PACKAGES");
        if (string.IsNullOrWhiteSpace(root))
            root = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        yield return Path.Combine(root, PackageId.ToLowerInvariant(), PackageVersion, PackageModelPath);
    }

    private static ChannelAdapter? Adapter(ImageNetResNet18Options options)
    {
        if (options.Input == ImageNetResNet18Input.Cntk) return null;
        if (options.Input != ImageNetResNet18Input.Normalized)
            throw new ArgumentOutOfRangeException(nameof(options), options.Input, "Unknown ImageNetResNet18Options.Input.");
        var mean = options.SourceMean ?? ImageNormalization.ImageNetMean;
        var std = options.SourceStd ?? ImageNormalization.ImageNetStd;
        if (mean.Count != 3 || std.Count != 3 || std.Any(s => !(s > 0)) || mean.Any(m => !float.IsFinite(m)))
            throw new ArgumentException("ImageNetResNet18Options.SourceMean and SourceStd need 3 values each (R, G, B), the std positive.", nameof(options));
        // x_bgr255 - mean = reverse(x * std + mean_src) * 255 - mean: per output channel c (B, G, R) from input channel 2 - c.
        var scale = new float[3];
        var shift = new float[3];
        for (int c = 0; c < 3; c++)
        {
            scale[c] = (float)(255.0 * std[2 - c]);
            shift[c] = (float)(255.0 * mean[2 - c] - ChannelMeanBgr[c]);
        }
        return new ChannelAdapter(ReverseChannels: true, scale, shift);
    }

    /// <summary>Maps the file's Conv and BatchNormalization nodes onto the backbone, checking every attribute that shapes the computation.</summary>
    private static void CopyWeights(OnnxModelFile model, ResNetBackbone backbone)
    {
        var nodes = model.Nodes;
        var consumers = new Dictionary<string, List<OnnxNodeInfo>>(StringComparer.Ordinal);
        foreach (var n in nodes)
            foreach (var i in n.Inputs)
                (consumers.TryGetValue(i, out var list) ? list : consumers[i] = []).Add(n);

        var state = backbone.state_dict();
        var assigned = new List<(string Key, float[] Values, long[] Dims, string Node)>();
        int convCount = nodes.Count(n => n.OpType == "Conv"), bnCount = nodes.Count(n => n.OpType == "BatchNormalization");
        const int ExpectedConvs = 22;
        if (convCount != ExpectedConvs || bnCount != ExpectedConvs)
            throw Bad(model, $"it has {convCount} Conv and {bnCount} BatchNormalization nodes; CNTK's ResNet-18 has {ExpectedConvs} of each");

        void Conv(OnnxNodeInfo conv, string prefix, long kernel, long stride, long[] pads)
        {
            Expect(model, conv, "kernel_shape", conv.IntsOr("kernel_shape"), [kernel, kernel]);
            Expect(model, conv, "strides", conv.IntsOr("strides", 1, 1), [stride, stride]);
            Expect(model, conv, "pads", conv.IntsOr("pads", 0, 0, 0, 0), pads);
            Expect(model, conv, "group", conv.IntsOr("group", 1), [1]);
            Expect(model, conv, "dilations", conv.IntsOr("dilations", 1, 1), [1, 1]);
            if (conv.Inputs.Count != 2) throw Bad(model, $"{conv} has a bias input; the ResNet's convolutions have none");
            Take(conv.Inputs[1], $"{prefix}.weight", conv);
            var bn = (consumers.TryGetValue(conv.Outputs[0], out var c) ? c : []).SingleOrDefault(n => n.OpType == "BatchNormalization")
                     ?? throw Bad(model, $"{conv} is not followed by a BatchNormalization node");
            var bnPrefix = prefix.EndsWith(".0", StringComparison.Ordinal) ? prefix[..^1] + "1" : prefix.Replace("conv", "bn", StringComparison.Ordinal);
            var eps = bn.Floats.TryGetValue("epsilon", out var e) ? e : 1e-5f;
            if (Math.Abs(eps - 1e-5) > 1e-9) throw Bad(model, $"{bn} has epsilon {eps}; the backbone's BatchNorm uses 1e-5");
            if (bn.Inputs.Count != 5) throw Bad(model, $"{bn} has {bn.Inputs.Count} inputs, not 5");
            Take(bn.Inputs[1], $"{bnPrefix}.weight", bn);
            Take(bn.Inputs[2], $"{bnPrefix}.bias", bn);
            Take(bn.Inputs[3], $"{bnPrefix}.running_mean", bn);
            Take(bn.Inputs[4], $"{bnPrefix}.running_var", bn);
        }

        void Take(string initializer, string key, OnnxNodeInfo node)
        {
            if (!model.Initializers.TryGetValue(initializer, out var t))
                throw Bad(model, $"{node}'s input '{initializer}' is not a float initialiser");
            if (!state.TryGetValue(key, out var target))
                throw new InvalidOperationException($"The backbone has no '{key}' (mapping {node}).");
            if (!t.Dims.SequenceEqual(target.shape))
                throw Bad(model, $"{node}'s '{initializer}' has shape [{string.Join(", ", t.Dims)}]; '{key}' needs [{string.Join(", ", target.shape)}]");
            assigned.Add((key, t.Values, t.Dims, node.Name));
        }

        // The stem: the Conv that reads the graph input, its BatchNormalization, then a MaxPool.
        var stem = nodes.FirstOrDefault(n => n.OpType == "Conv" && model.Inputs.Contains(n.Inputs[0]))
                   ?? throw Bad(model, "no Conv node reads the graph input");
        Conv(stem, "conv1", 7, 2, [3, 3, 2, 2]);
        var pool = nodes.SingleOrDefault(n => n.OpType == "MaxPool") ?? throw Bad(model, "it has no single MaxPool node");
        Expect(model, pool, "kernel_shape", pool.IntsOr("kernel_shape"), [3, 3]);
        Expect(model, pool, "strides", pool.IntsOr("strides", 1, 1), [2, 2]);
        Expect(model, pool, "pads", pool.IntsOr("pads", 0, 0, 0, 0), [1, 1, 0, 0]);

        // Blocks: the Conv nodes between one Add and the next, in file order; the 1x1 one is the downsample.
        var adds = nodes.Select((n, i) => (n, i)).Where(p => p.n.OpType == "Add").Select(p => p.i).ToArray();
        var blocks = backbone.Layout!.Blocks!;
        if (adds.Length != blocks.Sum()) throw Bad(model, $"it has {adds.Length} residual Add nodes; the backbone has {blocks.Sum()} blocks");
        int previous = nodes.IndexOf(pool), k = 0;
        for (int stage = 0; stage < 4; stage++)
        {
            for (int b = 0; b < blocks[stage]; b++, k++)
            {
                var convs = nodes.Skip(previous + 1).Take(adds[k] - previous - 1).Where(n => n.OpType == "Conv").ToArray();
                var prefix = $"layer{stage + 1}.{b}";
                var down = convs.Where(c => c.IntsOr("kernel_shape").SequenceEqual(new long[] { 1, 1 })).ToArray();
                var main = convs.Except(down).ToArray();
                bool first = b == 0 && stage > 0;
                if (main.Length != 2 || down.Length != (first ? 1 : 0))
                    throw Bad(model, $"block {prefix} (before {nodes[adds[k]]}) has {main.Length} 3x3 and {down.Length} 1x1 convolutions; expected 2 and {(first ? 1 : 0)}");
                long stride = first ? 2 : 1;
                Conv(main[0], $"{prefix}.conv1", 3, stride, stride == 2 ? [1, 1, 0, 0] : [1, 1, 1, 1]);
                Conv(main[1], $"{prefix}.conv2", 3, 1, [1, 1, 1, 1]);
                if (first) Conv(down[0], $"{prefix}.downsample.0", 1, 2, [0, 0, 0, 0]);
                previous = adds[k];
            }
        }
        var expectedKeys = state.Keys.Where(key => !key.EndsWith("num_batches_tracked", StringComparison.Ordinal)).ToHashSet(StringComparer.Ordinal);
        var missing = expectedKeys.Except(assigned.Select(a => a.Key)).ToArray();
        if (missing.Length > 0 || assigned.Count != expectedKeys.Count)
            throw Bad(model, $"the mapping left {string.Join(", ", missing)} unassigned");

        using var noGrad = no_grad();
        foreach (var (key, values, dims, _) in assigned)
        {
            using var source = tensor(values, dims);
            state[key].copy_(source);
        }
    }

    private static void Expect(OnnxModelFile model, OnnxNodeInfo node, string attribute, long[] actual, long[] expected)
    {
        if (!actual.SequenceEqual(expected))
            throw Bad(model, $"{node} has {attribute} [{string.Join(", ", actual)}]; the import expects [{string.Join(", ", expected)}]");
    }

    private static InvalidDataException Bad(OnnxModelFile model, string what) => new(
        string.Create(CultureInfo.InvariantCulture,
            $"'{model.Source}' ({model.Producer} {model.ProducerVersion}, opset {model.Opset}) is not the CNTK ResNet-18 of {PackageId} {PackageVersion}: {what}."));
}
