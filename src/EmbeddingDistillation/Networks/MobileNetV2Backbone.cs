using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Networks;

/// <summary>
/// MobileNetV2 (Sandler et al. 2018) without the classifier, with torchvision's state-dict keys
/// (<c>features.0</c> .. <c>features.18</c>) so that torchvision's <c>mobilenet_v2</c> weights load.
/// </summary>
/// <remarks>
/// <c>features.0</c>: 3x3 stride-2 Conv2dNormActivation (ReLU6) to round(32 w) channels; <c>features.1</c> ..
/// <c>features.17</c>: <see cref="InvertedResidual"/> blocks with (t, c, n, s) = (1,16,1,1), (6,24,2,2),
/// (6,32,3,2), (6,64,4,2), (6,96,3,1), (6,160,3,2), (6,320,1,1); <c>features.18</c>: 1x1 Conv2dNormActivation
/// to round(1280 max(1, w)) channels. Rounding as torchvision's <c>_make_divisible</c> (multiples of 8).
/// Taps (stride with the standard stem): <c>stage1</c> after features.1 (16, 2), <c>stage2</c> after
/// features.3 (24, 4), <c>stage3</c> after features.6 (32, 8), <c>stage4</c> after features.13 (96, 16),
/// <c>stage5</c> after features.18 (1280, 32). The small-input stem uses stride 1 in <c>features.0</c> and
/// halves every stride.
/// </remarks>
internal sealed class MobileNetV2Backbone : Backbone
{
    private static readonly (int T, int C, int N, int S)[] Settings =
    {
        (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1),
    };

    private static readonly (int Index, string Name)[] StageEnds = { (1, "stage1"), (3, "stage2"), (6, "stage3"), (13, "stage4"), (18, "stage5") };

    private readonly Sequential features;
    private readonly TappedLayerStack stack;
    private readonly TapInfo[] taps;

    /// <summary>Creates a MobileNetV2 backbone.</summary>
    /// <param name="width">Width multiplier (any positive value; torchvision publishes 1.0).</param>
    /// <param name="smallInputStem">Use stride 1 in the stem conv (for 32-48 px images).</param>
    public MobileNetV2Backbone(double width = 1.0, bool smallInputStem = false) : base("mobilenetv2")
    {
        ChannelRounding.CheckWidth(width, nameof(width));
        Width = width;
        SmallInputStem = smallInputStem;
        int stride = smallInputStem ? 1 : 2;
        int channels = ChannelRounding.Round(32, width);
        int lastChannels = ChannelRounding.Round(1280, Math.Max(1.0, width));
        var list = new List<nn.Module<Tensor, Tensor>> { ConvBnAct.Create(3, channels, 3, stride, 1, ConvBnAct.Activation.ReLU6) };
        var strides = new List<int> { stride };
        var outChannels = new List<int> { channels };
        foreach (var (t, c, n, s) in Settings)
        {
            int oc = ChannelRounding.Round(c, width);
            for (int i = 0; i < n; i++)
            {
                int st = i == 0 ? s : 1;
                list.Add(new InvertedResidual(channels, oc, st, t));
                channels = oc;
                stride *= st;
                strides.Add(stride);
                outChannels.Add(channels);
            }
        }
        list.Add(ConvBnAct.Create(channels, lastChannels, 1, 1, 1, ConvBnAct.Activation.ReLU6));
        strides.Add(stride);
        outChannels.Add(lastChannels);
        taps = StageEnds.Select(e => new TapInfo(e.Name, outChannels[e.Index], strides[e.Index])).ToArray();
        stack = new TappedLayerStack(list, StageEnds);
        features = stack.ToSequential();
        OutputChannels = lastChannels;
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
