using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Networks;

/// <summary>
/// The ResNet-50/101 bottleneck block (torchvision's "ResNet v1.5": the stride sits on the 3x3 conv), with
/// torchvision's child names. Forward:
/// <c>relu(bn3(conv3(relu(bn2(conv2(relu(bn1(conv1(x)))))))) + identity)</c>, identity = <c>downsample(x)</c>
/// (Sequential <c>0</c> = 1x1 conv, <c>1</c> = BatchNorm2d) when present, else <c>x</c>.
/// </summary>
internal sealed class Bottleneck : nn.Module<Tensor, Tensor>
{
    /// <summary>Channel expansion of the block's output over <c>planes</c>.</summary>
    public const int Expansion = 4;

    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly Conv2d conv2;
    private readonly BatchNorm2d bn2;
    private readonly Conv2d conv3;
    private readonly BatchNorm2d bn3;
    private readonly ReLU relu;
    private readonly Sequential? downsample;

    /// <summary>Creates the block.</summary>
    /// <param name="inPlanes">Input channels.</param>
    /// <param name="planes">Inner width; the output has <c>planes * 4</c> channels.</param>
    /// <param name="stride">Stride of <c>conv2</c> (and of the downsample conv).</param>
    /// <param name="downsample">The projection of the identity path, or null.</param>
    public Bottleneck(int inPlanes, int planes, int stride, Sequential? downsample) : base(nameof(Bottleneck))
    {
        conv1 = nn.Conv2d(inPlanes, planes, 1, bias: false);
        bn1 = nn.BatchNorm2d(planes);
        conv2 = nn.Conv2d(planes, planes, 3, stride: stride, padding: 1, bias: false);
        bn2 = nn.BatchNorm2d(planes);
        conv3 = nn.Conv2d(planes, planes * Expansion, 1, bias: false);
        bn3 = nn.BatchNorm2d(planes * Expansion);
        relu = nn.ReLU(inplace: true);
        this.downsample = downsample;
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x) => BlockScope.Run(() =>
    {
        var identity = downsample is null ? x : SafeConvolution.CallProjection(downsample, x);
        var y = relu.call(bn1.call(conv1.call(x)));
        y = relu.call(bn2.call(SafeConvolution.Call(conv2, y)));
        y = bn3.call(conv3.call(y));
        // In place, as torchvision: the batch-norm output is fresh and its backward does not need it, so the block allocates
        // one tensor less per activation and per sum (bit-identical values).
        return y.add_(identity).relu_();
    });
}
