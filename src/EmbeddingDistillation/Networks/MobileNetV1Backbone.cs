using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Networks;

/// <summary>
/// MobileNetV1 (Howard et al. 2017) without the classifier, with a width multiplier.
/// </summary>
/// <remarks>
/// Layout: <c>features</c> is a Sequential; <c>features.0</c> is the stem (<c>0</c> = 3x3 Conv2d stride 2,
/// <c>1</c> = BatchNorm2d, <c>2</c> = ReLU) and <c>features.1</c> .. <c>features.13</c> are
/// <see cref="DepthwiseSeparableBlock"/>s with output channels 64, 128, 128, 256, 256, 512 (x6), 1024, 1024 and
/// strides 1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1 (all times the width, rounded by the rule of
/// torchvision's <c>_make_divisible</c>: nearest multiple of 8, at least 8, at most 10% below the exact value).
/// Taps (stride with the standard stem): <c>stage1</c> after block 1 (64, 2), <c>stage2</c> after block 3
/// (128, 4), <c>stage3</c> after block 5 (256, 8), <c>stage4</c> after block 11 (512, 16), <c>stage5</c> after
/// block 13 (1024, 32). The small-input stem uses stride 1 in <c>features.0</c> and halves every stride.
/// </remarks>
internal sealed class MobileNetV1Backbone : Backbone
{
    private static readonly (int Channels, int Stride)[] Blocks =
    {
        (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
        (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1),
    };

    // Block index (1-based, = features index) after which each stage ends.
    private static readonly (int Block, string Name)[] StageEnds = { (1, "stage1"), (3, "stage2"), (5, "stage3"), (11, "stage4"), (13, "stage5") };

    private readonly Sequential features;
    private readonly TappedLayerStack stack;
    private readonly TapInfo[] taps;

    /// <summary>Creates a MobileNetV1 backbone.</summary>
    /// <param name="width">Width multiplier (0.25, 0.5, 0.75, 1.0 in the paper; any positive value).</param>
    /// <param name="smallInputStem">Use stride 1 in the stem conv (for 32-48 px images).</param>
    public MobileNetV1Backbone(double width = 1.0, bool smallInputStem = false) : base("mobilenetv1")
    {
        ChannelRounding.CheckWidth(width, nameof(width));
        Width = width;
        SmallInputStem = smallInputStem;
        int stemStride = smallInputStem ? 1 : 2;
        int channels = ChannelRounding.Round(32, width);
        var layers = new nn.Module<Tensor, Tensor>[Blocks.Length + 1];
        layers[0] = ConvBnAct.Create(3, channels, 3, stemStride, 1, ConvBnAct.Activation.ReLU);
        var tapList = new List<TapInfo>();
        int stride = stemStride;
        for (int i = 0; i < Blocks.Length; i++)
        {
            int outChannels = ChannelRounding.Round(Blocks[i].Channels, width);
            layers[i + 1] = new DepthwiseSeparableBlock(channels, outChannels, Blocks[i].Stride);
            channels = outChannels;
            stride *= Blocks[i].Stride;
            foreach (var (block, name) in StageEnds)
                if (block == i + 1) tapList.Add(new TapInfo(name, channels, stride));
        }
        stack = new TappedLayerStack(layers, StageEnds);
        features = stack.ToSequential();
        taps = tapList.ToArray();
        OutputChannels = channels;
        RegisterComponents();
        Init.TorchvisionConvNet(this);
    }

    /// <summary>The width multiplier.</summary>
    public double Width { get; }

    /// <summary>Whether the small-input (stride-1) stem is used.</summary>
    public bool SmallInputStem { get; }

    /// <inheritdoc />
    public override int OutputChannels { get; }

    /// <inheritdoc />
    public override IReadOnlyList<TapInfo> Taps => taps;

    /// <inheritdoc />
    protected override Tensor ForwardCore(Tensor input, Action<string, Tensor>? tap) => stack.Forward(input, tap);
}
