using EmbeddingDistillation.Primitives;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Losses;

/// <summary>
/// RKD distance-wise loss (Park et al., "Relational Knowledge Distillation", CVPR 2019): each side's pairwise
/// Euclidean distances (clamp 1e-12 before the sqrt, zero diagonal) divided by their mean over the N(N-1)
/// off-diagonal entries, then smooth-L1 (Huber, delta 1) averaged over all N x N entries. The teacher side is
/// computed without gradient. Scale-free, so student and teacher dimensions and norms may differ.
/// </summary>
public sealed class RkdDistanceLoss : EmbeddingDistillationLoss
{
    /// <summary>Creates the loss.</summary>
    public RkdDistanceLoss() : base(nameof(RkdDistanceLoss)) { }

    /// <inheritdoc />
    public override string Name => "rkd-distance";

    /// <summary>Forces the torch form even where the fused CPU path applies (for tests comparing the two).</summary>
    internal bool TorchPath { get; set; }

    /// <summary>Computes the loss for student [N, Ds] and teacher [N, Dt] embeddings (N &gt;= 2).</summary>
    /// <param name="student">Student embeddings [N, Ds].</param>
    /// <param name="teacher">Teacher embeddings [N, Dt].</param>
    public override Tensor forward(Tensor student, Tensor teacher)
    {
        LossInputs.EmbeddingPair(student, teacher, nameof(RkdDistanceLoss), sameDimension: false);
        LossInputs.AtLeastTwo(student, nameof(RkdDistanceLoss));
        using var scope = NewDisposeScope();
        if (FusedPairwise.Supports(student) && !TorchPath)
            return RkdDistanceFused.Forward(student, teacher).MoveToOuterDisposeScope();
        Tensor td;
        using (no_grad()) td = Normalised(teacher.detach());
        var loss = nn.functional.smooth_l1_loss(Normalised(student), td);
        return loss.MoveToOuterDisposeScope();
    }

    private static Tensor Normalised(Tensor x)
    {
        var n = x.shape[0];
        var d = PairwiseDistances.Euclidean(x) * LossInputs.OffDiagonal(n, x);
        // Off-diagonal distances are >= 1e-6 thanks to the clamp, so this equals the mean over positive entries.
        return d / (d.sum() / (n * (n - 1)));
    }
}
