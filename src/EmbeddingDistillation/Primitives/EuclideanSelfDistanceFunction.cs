using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Primitives;

/// <summary>
/// The batch's own Euclidean distance matrix D = sqrt(clamp(|x_i|^2 + |x_j|^2 - 2 x_i.x_j, c)) as one autograd node
/// with a hand-written backward.
/// </summary>
/// <remarks>
/// Autograd through the Gram form records ~8 nodes and, because x enters the matmul twice, spends two N x N x D
/// matmuls on the backward. Written by hand the backward is one matmul: with S = G / (2 D) on entries where the clamp
/// is inactive (G the incoming gradient) and S' = S + S^T, dL/dx = 2 (rowsum(S') * x - S' x).
/// Checked against autograd in PairwiseDistancesTests.
/// </remarks>
internal sealed class EuclideanSelfDistanceFunction : autograd.SingleTensorFunction<EuclideanSelfDistanceFunction>
{
    public override string Name => nameof(EuclideanSelfDistanceFunction);

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var x = (Tensor)vars[0];
        var clamp = (double)vars[1];
        using var scope = NewDisposeScope();
        var sq = x.pow(2).sum(1, keepdim: true);
        var d2 = torch.addmm(sq + sq.t(), x, x.t(), beta: 1, alpha: -2);
        var d = d2.clamp_min(clamp).sqrt();
        // dD/dD2 = 1 / (2 D) where the clamp is inactive, 0 where it holds: precomputed so backward is one multiply.
        var halfInverse = d2.ge(clamp).to_type(x.dtype).div_(d).mul_(0.5);
        // Saved tensors are captured by the context only after forward returns, so they must outlive this scope.
        ctx.save_for_backward(new List<Tensor> { x, halfInverse.MoveToOuterDisposeScope() });
        return d.MoveToOuterDisposeScope();
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        var saved = ctx.get_saved_variables();
        var x = saved[0];
        var halfInverse = saved[1];
        using var scope = NewDisposeScope();
        var s = gradOutput * halfInverse;
        s = s + s.t();
        var grad = torch.addmm(s.sum(1, keepdim: true) * x, s, x, beta: 1, alpha: -1).mul_(2);
        return new List<Tensor> { grad.MoveToOuterDisposeScope(), null! };
    }
}
