using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Primitives;

/// <summary>
/// An autograd node for a scalar loss whose gradient with respect to the embeddings x [N, D] is W x for an N x N
/// matrix W computed together with the loss (see <see cref="FusedPairwise"/>). The backward is then one matmul,
/// scaled by the incoming gradient.
/// </summary>
internal sealed class PrecomputedGradientFunction : autograd.SingleTensorFunction<PrecomputedGradientFunction>
{
    /// <summary>The loss value and W, passed as one non-tensor argument so autograd sees only x as an input.</summary>
    internal sealed record Payload(Tensor Loss, Tensor Weights, double WeightScale);

    public override string Name => nameof(PrecomputedGradientFunction);

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var x = (Tensor)vars[0];
        var payload = (Payload)vars[1];
        ctx.save_data("scale", payload.WeightScale);
        // Saved tensors are captured by the context when forward returns; the caller's scope keeps them alive until then.
        ctx.save_for_backward(new List<Tensor> { x, payload.Weights });
        return payload.Loss;
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        var saved = ctx.get_saved_variables();
        using var scope = NewDisposeScope();
        var scale = (double)ctx.get_data("scale");
        var grad = saved[1].mm(saved[0]).mul_(scale == 1 ? gradOutput : gradOutput * scale);
        return new List<Tensor> { grad.MoveToOuterDisposeScope(), null! };
    }
}
