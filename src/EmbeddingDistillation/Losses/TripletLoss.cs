using EmbeddingDistillation.Primitives;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Losses;

/// <summary>How <see cref="TripletLoss"/> chooses its triplets inside a batch.</summary>
public enum TripletMining
{
    /// <summary>
    /// Per anchor, the hardest positive (largest distance, same label, not itself) and the hardest negative (smallest
    /// distance, other label); loss = mean over anchors of relu(d_ap - d_an + margin). The paper's student loss.
    /// </summary>
    BatchHard,
    /// <summary>
    /// FaceNet: per (anchor, positive) pair, the closest negative farther than the positive (d_an &gt; d_ap); when no such
    /// negative exists, the farthest negative of the anchor (as TensorFlow Addons' triplet_semihard_loss). Mean over pairs.
    /// </summary>
    SemiHard,
    /// <summary>Every valid (anchor, positive, negative) triplet; mean over the triplets whose loss is positive.</summary>
    BatchAll,
}

/// <summary>Options of <see cref="TripletLoss"/>.</summary>
public sealed record TripletLossOptions
{
    /// <summary>The margin m in relu(d_ap - d_an + m), finite and &gt;= 0. Default 0 (the paper).</summary>
    public double Margin { get; init; }

    /// <summary>The triplet selection. Default <see cref="TripletMining.BatchHard"/> (the paper).</summary>
    public TripletMining Mining { get; init; } = TripletMining.BatchHard;
}

/// <summary>
/// The triplet loss on Euclidean distances d = sqrt(clamp(|x|^2 + |y|^2 - 2 x.y, 1e-12)), with batch-hard (paper),
/// semi-hard or batch-all mining.
/// </summary>
/// <remarks>
/// Anchors without a positive (singletons) or without a negative (one-class batch) form no triplet and are excluded.
/// If no triplet is valid at all, the loss is 0, still connected to the embeddings' graph so that backward runs
/// (with zero gradients). No NaN, no exception.
/// </remarks>
public sealed class TripletLoss : MetricLossModule
{
    /// <summary>Creates the loss.</summary>
    /// <param name="margin">The margin m in relu(d_ap - d_an + m); the paper uses 0. Must be &gt;= 0.</param>
    /// <param name="mining">The triplet selection; the paper uses batch-hard.</param>
    public TripletLoss(double margin = 0, TripletMining mining = TripletMining.BatchHard)
        : this(new TripletLossOptions { Margin = margin, Mining = mining })
    {
    }

    /// <summary>Creates the loss from its options.</summary>
    /// <param name="options">The options.</param>
    public TripletLoss(TripletLossOptions options) : base(nameof(TripletLoss))
    {
        ArgumentNullException.ThrowIfNull(options);
        double margin = options.Margin;
        var mining = options.Mining;
        if (!(margin >= 0) || double.IsInfinity(margin))
            throw new ArgumentOutOfRangeException(nameof(margin), margin, "TripletLoss: the margin must be a finite number >= 0.");
        if (!Enum.IsDefined(mining))
            throw new ArgumentOutOfRangeException(nameof(mining), mining, "TripletLoss: unknown mining.");
        Margin = margin;
        Mining = mining;
    }

    /// <summary>The margin.</summary>
    public double Margin { get; }

    /// <summary>The mining strategy.</summary>
    public TripletMining Mining { get; }

    /// <inheritdoc />
    public override string Name => "triplet";

    /// <summary>Forces the torch form even where the fused CPU path applies (for tests comparing the two).</summary>
    internal bool TorchPath { get; set; }

    /// <summary>Computes the loss of a labelled batch.</summary>
    /// <param name="embeddings">Embeddings [N, D].</param>
    /// <param name="labels">Integer labels [N].</param>
    public override Tensor forward(Tensor embeddings, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var y = LossInputs.Labelled(embeddings, labels, nameof(TripletLoss));
        if (Mining == TripletMining.BatchHard && FusedPairwise.Supports(embeddings) && !TorchPath)
            return TripletBatchHardFused.Forward(embeddings, y, Margin).MoveToOuterDisposeScope();
        var d = PairwiseDistances.Euclidean(embeddings);
        var same = y.unsqueeze(1).eq(y.unsqueeze(0));
        var positive = same.logical_and(LossInputs.OffDiagonal(y.shape[0], d));
        var negative = same.logical_not();
        var loss = Mining switch
        {
            TripletMining.BatchHard => BatchHard(d, positive, negative),
            TripletMining.SemiHard => SemiHard(d, positive, negative),
            TripletMining.BatchAll => BatchAll(d, positive, negative),
            _ => throw new InvalidOperationException($"Unknown mining {Mining}."),
        };
        return loss.MoveToOuterDisposeScope();
    }

    private Tensor BatchHard(Tensor d, Tensor positive, Tensor negative)
    {
        var valid = positive.any(1).logical_and(negative.any(1));
        // Distances are >= 0, so zeroing non-positives leaves the hardest positive as the row maximum.
        var dap = (d * positive).amax(1);
        // Lifting non-negatives above every distance leaves the hardest negative as the row minimum (no infinities,
        // so masked rows cannot produce inf - inf).
        var lift = d.detach().max() + 1;
        var dan = (d + negative.logical_not() * lift).amin(1);
        var perAnchor = nn.functional.relu(dap - dan + Margin) * valid;
        return perAnchor.sum() / valid.sum().clamp_min(1);
    }

    private Tensor SemiHard(Tensor d, Tensor positive, Tensor negative)
    {
        var n = d.shape[0];
        var lift = d.detach().max() + 1;
        // Each anchor's negative distances in ascending order; non-negatives are lifted to the end.
        var (sortedNeg, _) = (d + negative.logical_not() * lift).sort(1);
        var negCount = negative.sum(1);
        // For every (anchor, positive): index of the first negative strictly farther than the positive.
        var first = torch.searchsorted(sortedNeg.detach().contiguous(), d.detach().contiguous(), right: true);
        var hasSemiHard = first.lt(negCount.unsqueeze(1));
        var lastNeg = (negCount - 1).clamp_min(0).unsqueeze(1).expand(n, n);
        var pick = torch.where(hasSemiHard, first, lastNeg);
        var dan = sortedNeg.gather(1, pick);
        var valid = positive.logical_and(negCount.gt(0).unsqueeze(1));
        var perPair = nn.functional.relu(d - dan + Margin) * valid;
        return perPair.sum() / valid.sum().clamp_min(1);
    }

    private Tensor BatchAll(Tensor d, Tensor positive, Tensor negative)
    {
        // [anchor, positive, negative]: d_ap - d_an + m over all index triples, masked to valid triplets.
        var valid = positive.unsqueeze(2).logical_and(negative.unsqueeze(1));
        var all = nn.functional.relu(d.unsqueeze(2) - d.unsqueeze(1) + Margin) * valid;
        var active = all.detach().gt(1e-16).sum();
        return all.sum() / active.clamp_min(1);
    }
}
