using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Losses;

/// <summary>
/// RKD angle-wise loss (Park et al., CVPR 2019): for every triplet (i, j, k) the cosine of the angle at j between
/// (e_i - e_j) and (e_k - e_j) (normalised difference vectors; a zero vector, i = j or k = j, gives 0), smooth-L1
/// (delta 1) between student and teacher averaged over all N^3 triplets. Teacher side without gradient.
/// </summary>
/// <remarks>
/// The authors form the N x N x D difference tensor and a batched matmul (N^3 D work). Here the cosines come from
/// the Gram matrix G: &lt;e_i - e_j, e_k - e_j&gt; = G_ik - G_ij - G_jk + G_jj, divided by the two distances
/// (clamped at 1e-12 before the sqrt, as the kernel does), which is N^3 work and no N^2 D tensor. The values agree
/// with the authors' formula (tested against it); memory is still O(N^3), so keep batches moderate (N &lt;= 256).
/// </remarks>
public sealed class RkdAngleLoss : EmbeddingDistillationLoss
{
    /// <summary>Creates the loss.</summary>
    public RkdAngleLoss() : base(nameof(RkdAngleLoss)) { }

    /// <inheritdoc />
    public override string Name => "rkd-angle";

    /// <summary>Computes the loss for student [N, Ds] and teacher [N, Dt] embeddings (N &gt;= 2).</summary>
    /// <param name="student">Student embeddings [N, Ds].</param>
    /// <param name="teacher">Teacher embeddings [N, Dt].</param>
    public override Tensor forward(Tensor student, Tensor teacher)
    {
        LossInputs.EmbeddingPair(student, teacher, nameof(RkdAngleLoss), sameDimension: false);
        LossInputs.AtLeastTwo(student, nameof(RkdAngleLoss));
        using var scope = NewDisposeScope();
        Tensor ta;
        using (no_grad()) ta = Angles(teacher.detach());
        var loss = nn.functional.smooth_l1_loss(Angles(student), ta);
        return loss.MoveToOuterDisposeScope();
    }

    /// <summary>Cosines [N(vertex j), N(i), N(k)] of the angle at e_j between e_i - e_j and e_k - e_j.</summary>
    internal static Tensor Angles(Tensor x)
    {
        var n = x.shape[0];
        var g = x.mm(x.t());
        var sq = g.diagonal();
        // Inverse lengths of e_i - e_j; zero where i = j so that degenerate vectors give a zero cosine like F.normalize.
        var d2 = (sq.unsqueeze(1) + sq.unsqueeze(0) - 2 * g).clamp_min(1e-12);
        var inv = d2.rsqrt() * LossInputs.OffDiagonal(n, x);
        // <e_i - e_j, e_k - e_j> with j the vertex (dim 0): G_ik - G_ji - G_jk + G_jj.
        var dot = g.unsqueeze(0) - g.unsqueeze(2) - g.unsqueeze(1) + sq.view(n, 1, 1);
        return dot * inv.unsqueeze(2) * inv.unsqueeze(1);
    }
}
