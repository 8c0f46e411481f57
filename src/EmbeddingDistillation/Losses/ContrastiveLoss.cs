using EmbeddingDistillation.Primitives;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Losses;

/// <summary>
/// Contrastive loss (Hadsell, Chopra, LeCun 2006, with a positive margin as in pytorch-metric-learning) on
/// Euclidean distances: loss = 1 / (N(N-1)) * [ sum over positive pairs relu(d_ij - m_pos)^2
/// + sum over negative pairs relu(m_neg - d_ij)^2 ], over ordered pairs i != j.
/// </summary>
/// <remarks>A batch of one embedding has no pair: the loss is 0, connected to the graph.</remarks>
public sealed class ContrastiveLoss : MetricLossModule
{
    /// <summary>Creates the loss.</summary>
    /// <param name="positiveMargin">Positive pairs closer than this cost nothing. Default 0.</param>
    /// <param name="negativeMargin">Negative pairs farther than this cost nothing. Default 1.</param>
    public ContrastiveLoss(double positiveMargin = 0, double negativeMargin = 1) : base(nameof(ContrastiveLoss))
    {
        if (!(positiveMargin >= 0) || !(negativeMargin > positiveMargin) || double.IsInfinity(negativeMargin))
            throw new ArgumentOutOfRangeException(nameof(negativeMargin), $"ContrastiveLoss: need 0 <= positiveMargin < negativeMargin (finite); got {positiveMargin} and {negativeMargin}.");
        PositiveMargin = positiveMargin;
        NegativeMargin = negativeMargin;
    }

    /// <summary>The positive margin.</summary>
    public double PositiveMargin { get; }

    /// <summary>The negative margin.</summary>
    public double NegativeMargin { get; }

    /// <inheritdoc />
    public override string Name => "contrastive";

    /// <summary>Forces the torch form even where the fused CPU path applies (for tests comparing the two).</summary>
    internal bool TorchPath { get; set; }

    /// <summary>Computes the loss of a labelled batch.</summary>
    /// <param name="embeddings">Embeddings [N, D].</param>
    /// <param name="labels">Integer labels [N].</param>
    public override Tensor forward(Tensor embeddings, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var y = LossInputs.Labelled(embeddings, labels, nameof(ContrastiveLoss));
        if (FusedPairwise.Supports(embeddings) && !TorchPath)
            return LossInputs.PropagateNonFinite(ContrastiveFused.Forward(embeddings, y, PositiveMargin, NegativeMargin), embeddings).MoveToOuterDisposeScope();
        var n = y.shape[0];
        var d = PairwiseDistances.Euclidean(embeddings);
        var same = y.unsqueeze(1).eq(y.unsqueeze(0));
        var positive = same.logical_and(LossInputs.OffDiagonal(n, d));
        var pull = nn.functional.relu(d - PositiveMargin).pow(2) * positive;
        var push = nn.functional.relu(NegativeMargin - d).pow(2) * same.logical_not();
        var loss = (pull + push).sum() / Math.Max(1, n * (n - 1));
        return loss.MoveToOuterDisposeScope();
    }
}
