using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Networks;

/// <summary>
/// The MobileNetV1 block. Forward: <c>pw(dw(x))</c> where <c>dw</c> is a Sequential
/// (<c>0</c> = 3x3 depthwise Conv2d with the block's stride, <c>1</c> = BatchNorm2d, <c>2</c> = ReLU) and
/// <c>pw</c> is a Sequential (<c>0</c> = 1x1 Conv2d, <c>1</c> = BatchNorm2d, <c>2</c> = ReLU). Convs have no bias.
/// </summary>
internal sealed class DepthwiseSeparableBlock : nn.Module<Tensor, Tensor>
{
    private readonly Sequential dw;
    private readonly Sequential pw;

    /// <summary>Creates the block.</summary>
    /// <param name="inChannels">Input channels (also the depthwise groups).</param>
    /// <param name="outChannels">Output channels of the pointwise conv.</param>
    /// <param name="stride">Stride of the depthwise conv.</param>
    public DepthwiseSeparableBlock(int inChannels, int outChannels, int stride) : base(nameof(DepthwiseSeparableBlock))
    {
        dw = ConvBnAct.Create(inChannels, inChannels, 3, stride, inChannels, ConvBnAct.Activation.ReLU);
        pw = ConvBnAct.Create(inChannels, outChannels, 1, 1, 1, ConvBnAct.Activation.ReLU);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x) => BlockScope.Run(() => pw.call(dw.call(x)));
}
