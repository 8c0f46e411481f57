using static TorchSharp.torch;

namespace EmbeddingDistillation.Networks;

/// <summary>
/// Runs a block's forward pass in its own dispose scope, so that the block's intermediate tensors (convolution and
/// batch-norm outputs, projections) are released when the block returns, as PyTorch releases them, instead of living
/// until the caller's scope ends. Measured: one ResNet-101 forward pass at 224 px, batch 32, inside one scope held
/// every intermediate of the pass, 6.3 GB of native memory, and page-faulted 1.5 million times per eight passes,
/// against 1.6 GB for PyTorch; the kept output is moved to the caller's scope. Autograd keeps whatever backward needs
/// through its own references, so training is unaffected except for a lower peak.
/// </summary>
internal static class BlockScope
{
    /// <summary>The output of <paramref name="forward"/>, with every other tensor it created disposed.</summary>
    internal static Tensor Run(Func<Tensor> forward)
    {
        using var scope = NewDisposeScope();
        return forward().MoveToOuterDisposeScope();
    }
}
