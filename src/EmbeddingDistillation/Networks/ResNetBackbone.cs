using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Networks;

/// <summary>
/// ResNet-18/34/50/101 without the classifier, with state-dict keys identical to torchvision's
/// (<c>conv1</c>, <c>bn1</c>, <c>layer1.0.conv1</c>, ..., <c>layer2.0.downsample.0</c>/<c>.1</c>), so torchvision
/// checkpoints load directly.
/// </summary>
/// <remarks>
/// Forward: <c>conv1 - bn1 - relu - maxpool - layer1 - layer2 - layer3 - layer4</c>. Taps: <c>stem</c> (after
/// maxpool), <c>layer1</c> .. <c>layer4</c>. With the small-input stem, <c>conv1</c> is a 3x3 stride-1 conv
/// (padding 1) and there is no maxpool: all strides shrink by 4 and only <c>conv1.weight</c>'s shape changes.
/// </remarks>
internal sealed class ResNetBackbone : Backbone
{
    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly ReLU relu;
    private readonly MaxPool2d? maxpool;
    private readonly Sequential layer1;
    private readonly Sequential layer2;
    private readonly Sequential layer3;
    private readonly Sequential layer4;
    private readonly TapInfo[] taps;

    /// <summary>Creates a ResNet backbone.</summary>
    /// <param name="depth">18, 34, 50 or 101.</param>
    /// <param name="baseWidth">Channels of the stem and of <c>layer1</c>'s planes (torchvision: 64); stages use 1, 2, 4, 8 times it.</param>
    /// <param name="smallInputStem">Use a 3x3 stride-1 <c>conv1</c> and no maxpool (for 32-48 px images).</param>
    /// <param name="layout">A non-torchvision layout (other block counts, CNTK's padding, an input adapter); null for torchvision's.</param>
    public ResNetBackbone(int depth, int baseWidth = 64, bool smallInputStem = false, ResNetLayout? layout = null)
        : base(layout?.Name ?? $"resnet{depth}")
    {
        var (bottleneck, blocks) = depth switch
        {
            18 => (false, new[] { 2, 2, 2, 2 }),
            34 => (false, new[] { 3, 4, 6, 3 }),
            50 => (true, new[] { 3, 4, 6, 3 }),
            101 => (true, new[] { 3, 4, 23, 3 }),
            _ => throw new ArgumentOutOfRangeException(nameof(depth), depth, "ResNet depth must be 18, 34, 50 or 101."),
        };
        if (baseWidth < 1) throw new ArgumentOutOfRangeException(nameof(baseWidth), baseWidth, "The ResNet base width must be positive.");
        if (layout is not null)
        {
            if (layout.Blocks is { } custom)
            {
                if (custom.Count != 4 || custom.Any(b => b < 1))
                    throw new ArgumentOutOfRangeException(nameof(layout), $"A ResNet layout needs 4 positive block counts; got [{string.Join(", ", custom)}].");
                blocks = custom.ToArray();
            }
            if (layout.BeginHeavyPadding && (smallInputStem || bottleneck))
                throw new ArgumentException("Begin-heavy (CNTK) padding is implemented for the standard stem of ResNet-18/34 only.", nameof(layout));
        }
        Depth = depth;
        SmallInputStem = smallInputStem;
        Layout = layout;
        bool beginHeavy = layout?.BeginHeavyPadding == true;

        conv1 = smallInputStem
            ? nn.Conv2d(3, baseWidth, 3, stride: 1, padding: 1, bias: false)
            : nn.Conv2d(3, baseWidth, 7, stride: 2, padding: beginHeavy ? 0 : 3, bias: false);
        bn1 = nn.BatchNorm2d(baseWidth);
        relu = nn.ReLU(inplace: true); // on the fresh batch-norm output, as torchvision
        maxpool = smallInputStem ? null : nn.MaxPool2d(3, stride: 2, padding: beginHeavy ? 0 : 1);

        int expansion = bottleneck ? Bottleneck.Expansion : BasicBlock.Expansion;
        int inPlanes = baseWidth;
        var layers = new Sequential[4];
        int stride = smallInputStem ? 1 : 4;
        var tapList = new List<TapInfo> { new("stem", baseWidth, stride) };
        for (int i = 0; i < 4; i++)
        {
            int planes = baseWidth << i;
            int firstStride = i == 0 ? 1 : 2;
            var modules = new List<(string, nn.Module<Tensor, Tensor>)>();
            for (int b = 0; b < blocks[i]; b++)
            {
                int s = b == 0 ? firstStride : 1;
                Sequential? down = null;
                if (s != 1 || inPlanes != planes * expansion)
                    down = nn.Sequential(
                        ("0", nn.Conv2d(inPlanes, planes * expansion, 1, stride: s, bias: false)),
                        ("1", nn.BatchNorm2d(planes * expansion)));
                modules.Add((b.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    bottleneck ? new Bottleneck(inPlanes, planes, s, down) : new BasicBlock(inPlanes, planes, s, down, beginHeavy)));
                inPlanes = planes * expansion;
            }
            layers[i] = nn.Sequential(modules);
            stride *= firstStride;
            tapList.Add(new TapInfo($"layer{i + 1}", inPlanes, stride));
        }
        (layer1, layer2, layer3, layer4) = (layers[0], layers[1], layers[2], layers[3]);
        taps = tapList.ToArray();
        OutputChannels = inPlanes;
        RegisterComponents();
        Init.TorchvisionConvNet(this);
    }

    /// <summary>The depth: 18, 34, 50 or 101.</summary>
    public int Depth { get; }

    /// <summary>Whether the small-input stem (3x3 stride-1 conv1, no maxpool) is used.</summary>
    public bool SmallInputStem { get; }

    /// <summary>The non-torchvision layout, or null for torchvision's.</summary>
    public ResNetLayout? Layout { get; }

    /// <inheritdoc />
    public override int OutputChannels { get; }

    /// <inheritdoc />
    public override IReadOnlyList<TapInfo> Taps => taps;

    /// <inheritdoc />
    protected override Tensor ForwardCore(Tensor input, Action<string, Tensor>? tap)
    {
        if (Layout?.Input is { } adapter) input = adapter.Apply(input);
        return Stages(BlockScope.Run(() => Stem(input)), tap);
    }

    private Tensor Stem(Tensor input)
    {
        if (Layout?.BeginHeavyPadding == true)
        {
            // CNTK's pads: one more row/column before than after (ONNX pads [3, 3, 2, 2] and [1, 1, 0, 0]).
            var x0 = relu.call(bn1.call(SafeConvolution.Call(conv1, nn.functional.pad(input, new long[] { 3, 2, 3, 2 }))));
            return ChannelsLastMaxPool.Call(maxpool!, nn.functional.pad(x0, new long[] { 1, 0, 1, 0 }, value: double.NegativeInfinity));
        }
        var x = relu.call(bn1.call(SafeConvolution.Call(conv1, input)));
        return maxpool is null ? x : ChannelsLastMaxPool.Call(maxpool, x);
    }

    private Tensor Stages(Tensor x, Action<string, Tensor>? tap)
    {
        tap?.Invoke("stem", x);
        x = layer1.call(x); tap?.Invoke("layer1", x);
        x = layer2.call(x); tap?.Invoke("layer2", x);
        x = layer3.call(x); tap?.Invoke("layer3", x);
        x = layer4.call(x); tap?.Invoke("layer4", x);
        return x;
    }
}

/// <summary>
/// A ResNet layout other than torchvision's, for imported networks: other block counts per stage, CNTK's
/// begin-heavy padding (stride-2 convolutions and the max-pool pad one row and column more before than after; ONNX
/// pads such as [3, 3, 2, 2]), and a per-channel input adapter applied before <c>conv1</c>.
/// </summary>
/// <param name="Name">The backbone's name, e.g. <c>resnet18-cntk</c>.</param>
/// <param name="Blocks">Blocks per stage (4 values), or null for the depth's.</param>
/// <param name="BeginHeavyPadding">Pad stride-2 convolutions and the max-pool as CNTK does.</param>
/// <param name="Input">An input adapter, or null.</param>
internal sealed record ResNetLayout(string Name, IReadOnlyList<int>? Blocks, bool BeginHeavyPadding, ChannelAdapter? Input);

/// <summary>
/// <c>x' = reorder(x) * scale + shift</c> per channel: maps the images the library feeds (e.g. ImageNet-normalised RGB)
/// to what an imported network was trained on (e.g. BGR in 0-255 minus a mean) exactly, before any padding.
/// </summary>
/// <param name="ReverseChannels">Reverse the channel order (RGB to BGR) first.</param>
/// <param name="Scale">Per-channel factors, in the output's channel order.</param>
/// <param name="Shift">Per-channel offsets, in the output's channel order.</param>
internal sealed record ChannelAdapter(bool ReverseChannels, float[] Scale, float[] Shift)
{
    public Tensor Apply(Tensor x)
    {
        if (ReverseChannels) x = x.flip(1);
        using var scale = tensor(Scale, dtype: x.dtype, device: x.device).reshape(1, -1, 1, 1);
        using var shift = tensor(Shift, dtype: x.dtype, device: x.device).reshape(1, -1, 1, 1);
        return x * scale + shift;
    }
}
