using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Networks;

/// <summary>torchvision's initialisation of convolutional backbones.</summary>
internal static class Init
{
    /// <summary>
    /// Convolutions: kaiming-normal, fan_out, ReLU gain; conv biases zero. BatchNorm: weight 1, bias 0.
    /// </summary>
    public static void TorchvisionConvNet(nn.Module module)
    {
        using var _ = no_grad();
        foreach (var m in module.modules())
        {
            switch (m)
            {
                case Conv2d conv:
                    nn.init.kaiming_normal_(conv.weight!, mode: nn.init.FanInOut.FanOut, nonlinearity: nn.init.NonlinearityType.ReLU);
                    if (conv.bias is not null) nn.init.zeros_(conv.bias);
                    break;
                case BatchNorm2d bn:
                    if (bn.weight is not null) nn.init.ones_(bn.weight);
                    if (bn.bias is not null) nn.init.zeros_(bn.bias);
                    break;
            }
        }
    }
}
