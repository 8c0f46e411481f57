using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Networks;

/// <summary>
/// The ResNet-18/34 residual block, with torchvision's child names.
/// Forward: <c>relu(bn2(conv2(relu(bn1(conv1(x))))) + identity)</c>, where identity is
/// <c>downsample(x)</c> (a Sequential of <c>0</c> = 1x1 conv, <c>1</c> = BatchNorm2d) when present, else <c>x</c>.
/// </summary>
internal sealed class BasicBlock : nn.Module<Tensor, Tensor>
{
    /// <summary>Channel expansion of the block's output over <c>planes</c>.</summary>
    public const int Expansion = 1;

    // Field names are the state-dict names (RegisterComponents uses them).
    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly ReLU relu;
    private readonly Conv2d conv2;
    private readonly BatchNorm2d bn2;
    private readonly Sequential? downsample;
    private readonly bool beginHeavy;

    /// <summary>Creates the block.</summary>
    /// <param name="inPlanes">Input channels.</param>
    /// <param name="planes">Output channels.</param>
    /// <param name="stride">Stride of <c>conv1</c> (and of the downsample conv).</param>
    /// <param name="downsample">The projection of the identity path, or null.</param>
    /// <param name="beginHeavyPadding">With stride 2, pad <c>conv1</c>'s input as CNTK does (one row/column before, none after) instead of 1 on every side.</param>
    public BasicBlock(int inPlanes, int planes, int stride, Sequential? downsample, bool beginHeavyPadding = false) : base(nameof(BasicBlock))
    {
        beginHeavy = beginHeavyPadding && stride == 2;
        conv1 = nn.Conv2d(inPlanes, planes, 3, stride: stride, padding: beginHeavy ? 0 : 1, bias: false);
        bn1 = nn.BatchNorm2d(planes);
        relu = nn.ReLU(inplace: true);
        conv2 = nn.Conv2d(planes, planes, 3, stride: 1, padding: 1, bias: false);
        bn2 = nn.BatchNorm2d(planes);
        this.downsample = downsample;
        RegisterComponents();
    }

    /// <summary>Whether <c>conv1</c> (stride 2) is padded as CNTK does: 1 before, 0 after (the ONNX exporter cannot write it yet).</summary>
    public bool BeginHeavyPadding => beginHeavy;

    /// <inheritdoc />
    public override Tensor forward(Tensor x) => BlockScope.Run(() =>
    {
        var identity = downsample is null ? x : SafeConvolution.CallProjection(downsample, x);
        var y = relu.call(bn1.call(SafeConvolution.Call(conv1, beginHeavy ? nn.functional.pad(x, new long[] { 1, 0, 1, 0 }) : x)));
        y = bn2.call(SafeConvolution.Call(conv2, y));
        // In place, as torchvision: the batch-norm output is fresh and its backward does not need it, so the block allocates
        // one tensor less per activation and per sum (bit-identical values). Out of place only where the sum can
        // broadcast: the CNTK layout's stride-2 blocks on odd-sized inputs, whose two paths disagree by one pixel and
        // whose sum the original network broadcasts (the standard layout's paths always agree).
        return beginHeavy && !y.shape.SequenceEqual(identity.shape) ? relu.call(y + identity) : y.add_(identity).relu_();
    });
}
