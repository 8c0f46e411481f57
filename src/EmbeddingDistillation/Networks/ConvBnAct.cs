using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Networks;

/// <summary>
/// Builds torchvision's <c>Conv2dNormActivation</c> layout: a Sequential of <c>0</c> = Conv2d (no bias),
/// <c>1</c> = BatchNorm2d, <c>2</c> = ReLU or ReLU6 (omitted for a linear block).
/// </summary>
internal static class ConvBnAct
{
    public enum Activation { None, ReLU, ReLU6 }

    public static Sequential Create(int inChannels, int outChannels, int kernel, int stride, int groups, Activation activation)
    {
        var modules = new List<(string, nn.Module<Tensor, Tensor>)>
        {
            ("0", nn.Conv2d(inChannels, outChannels, kernel, stride: stride, padding: (kernel - 1) / 2, groups: groups, bias: false)),
            ("1", nn.BatchNorm2d(outChannels)),
        };
        if (activation == Activation.ReLU) modules.Add(("2", nn.ReLU(inplace: true)));
        else if (activation == Activation.ReLU6) modules.Add(("2", nn.ReLU6(inplace: true)));
        return nn.Sequential(modules);
    }
}
