using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Networks;

/// <summary>
/// The MobileNetV2 block with torchvision's layout: a single child <c>conv</c> (Sequential). With expansion
/// ratio 1: <c>conv.0</c> = depthwise Conv2dNormActivation (ReLU6), <c>conv.1</c> = 1x1 Conv2d,
/// <c>conv.2</c> = BatchNorm2d. Otherwise: <c>conv.0</c> = 1x1 expand Conv2dNormActivation (ReLU6),
/// <c>conv.1</c> = depthwise Conv2dNormActivation (ReLU6), <c>conv.2</c> = 1x1 Conv2d, <c>conv.3</c> = BatchNorm2d.
/// Forward: <c>x + conv(x)</c> when stride is 1 and input and output channels agree, else <c>conv(x)</c>.
/// </summary>
internal sealed class InvertedResidual : nn.Module<Tensor, Tensor>
{
    private readonly Sequential conv;

    /// <summary>Creates the block.</summary>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="outChannels">Output channels.</param>
    /// <param name="stride">Stride of the depthwise conv (1 or 2).</param>
    /// <param name="expandRatio">Expansion ratio t of the hidden width.</param>
    public InvertedResidual(int inChannels, int outChannels, int stride, int expandRatio) : base(nameof(InvertedResidual))
    {
        int hidden = (int)Math.Round((double)inChannels * expandRatio);
        UsesResidual = stride == 1 && inChannels == outChannels;
        var modules = new List<nn.Module<Tensor, Tensor>>();
        if (expandRatio != 1) modules.Add(ConvBnAct.Create(inChannels, hidden, 1, 1, 1, ConvBnAct.Activation.ReLU6));
        modules.Add(ConvBnAct.Create(hidden, hidden, 3, stride, hidden, ConvBnAct.Activation.ReLU6));
        modules.Add(nn.Conv2d(hidden, outChannels, 1, bias: false));
        modules.Add(nn.BatchNorm2d(outChannels));
        conv = nn.Sequential(modules.Select((m, i) => (i.ToString(System.Globalization.CultureInfo.InvariantCulture), m)));
        RegisterComponents();
    }

    /// <summary>Whether the block adds its input to the output (stride 1, equal channels).</summary>
    public bool UsesResidual { get; }

    /// <inheritdoc />
    // The sum in place on the block's fresh batch-norm output (as torchvision adds in place): one tensor less per block.
    public override Tensor forward(Tensor x) => BlockScope.Run(() => UsesResidual ? conv.call(x).add_(x) : conv.call(x));
}
