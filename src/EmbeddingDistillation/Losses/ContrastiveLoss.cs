using EmbeddingDistillation.Primitives;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Losses;

/// <summary>Options of <see cref="ContrastiveLoss"/>.</summary>
public sealed record ContrastiveLossOptions
{
    /// <summary>Positive pairs closer than this cost nothing (&gt;= 0). Default 0.</summary>
    public double PositiveMargin { get; init; }

    /// <summary>Negative pairs farther than this cost nothing (&gt; <see cref="PositiveMargin"/>, finite). Default 1.</summary>
    public double NegativeMargin { get; init; } = 1.0;

    /// <summary>
    /// True (default): the squared hinges of Hadsell, Chopra and LeCun (2006). False: the linear hinges of
    /// pytorch-metric-learning's <c>ContrastiveLoss</c>, relu(d - m_pos) and relu(m_neg - d) (averaged here over all
    /// ordered pairs, where that library averages over the pairs with a positive loss).
    /// </summary>
    public bool Squared { get; init; } = true;
}

/// <summary>
/// The contrastive loss on Euclidean distances d_ij, over ordered pairs i != j: by default the squared form of Hadsell,
/// Chopra and LeCun (2006), with a positive margin as in pytorch-metric-learning:
/// loss = 1 / (N(N-1)) * [ sum over positive pairs relu(d_ij - m_pos)^2 + sum over negative pairs relu(m_neg - d_ij)^2 ];
/// with <see cref="ContrastiveLossOptions.Squared"/> false, the hinges are not squared.
/// </summary>
/// <remarks>A batch of one embedding has no pair: the loss is 0, connected to the graph.</remarks>
public sealed class ContrastiveLoss : MetricLossModule
{
    /// <summary>Creates the loss.</summary>
    /// <param name="options">Options; null for the squared form with margins 0 and 1.</param>
    public ContrastiveLoss(ContrastiveLossOptions? options = null) : base(nameof(ContrastiveLoss))
    {
        var o = options ?? new ContrastiveLossOptions();
        if (!(o.PositiveMargin >= 0) || !(o.NegativeMargin > o.PositiveMargin) || double.IsInfinity(o.NegativeMargin))
            throw new ArgumentOutOfRangeException(nameof(options), $"ContrastiveLoss: need 0 <= PositiveMargin < NegativeMargin (finite); got {o.PositiveMargin} and {o.NegativeMargin}.");
        Options = o;
    }

    /// <summary>The options in use.</summary>
    public ContrastiveLossOptions Options { get; }

    internal double PositiveMargin => Options.PositiveMargin;

    internal double NegativeMargin => Options.NegativeMargin;

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
        if (Options.Squared && FusedPairwise.Supports(embeddings) && !TorchPath)
            return ContrastiveFused.Forward(embeddings, y, PositiveMargin, NegativeMargin).MoveToOuterDisposeScope();
        var n = y.shape[0];
        var d = PairwiseDistances.Euclidean(embeddings);
        var same = y.unsqueeze(1).eq(y.unsqueeze(0));
        var positive = same.logical_and(LossInputs.OffDiagonal(n, d));
        var pullHinge = nn.functional.relu(d - PositiveMargin);
        var pushHinge = nn.functional.relu(NegativeMargin - d);
        var pull = (Options.Squared ? pullHinge.pow(2) : pullHinge) * positive;
        var push = (Options.Squared ? pushHinge.pow(2) : pushHinge) * same.logical_not();
        var loss = (pull + push).sum() / Math.Max(1, n * (n - 1));
        return loss.MoveToOuterDisposeScope();
    }
}
