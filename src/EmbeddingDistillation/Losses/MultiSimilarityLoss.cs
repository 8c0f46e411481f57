using EmbeddingDistillation.Primitives;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Losses;

/// <summary>Options of <see cref="MultiSimilarityLoss"/>.</summary>
public sealed record MultiSimilarityLossOptions
{
    /// <summary>Scale of the positive term (alpha). Default 2 (paper).</summary>
    public double Alpha { get; init; } = 2.0;

    /// <summary>Scale of the negative term (beta). Default 50 (paper; the authors' configs use 40).</summary>
    public double Beta { get; init; } = 50.0;

    /// <summary>Similarity base (lambda). Default 1 (paper; the authors' code defaults to 0.5).</summary>
    public double Lambda { get; init; } = 1.0;

    /// <summary>Mining margin (epsilon). Default 0.1.</summary>
    public double Epsilon { get; init; } = 0.1;
}

/// <summary>
/// Multi-similarity loss (Wang et al., CVPR 2019) on the cosine similarities S = X X^T of L2-normalised embeddings
/// (normalise them first; the loss uses X as given, like the authors' code).
/// </summary>
/// <remarks>
/// Pair mining per anchor i: a negative j is kept if S_ij + epsilon &gt; min over i's positives; a positive j is kept
/// if S_ij - epsilon &lt; max over i's negatives. Anchor loss: 1/alpha log(1 + sum_kept_pos exp(-alpha (S_ij - lambda)))
/// + 1/beta log(1 + sum_kept_neg exp(beta (S_ij - lambda))). Anchors left without a kept positive or negative are
/// skipped; the loss is the sum over anchors divided by N (the batch size, as the authors do); 0 (connected) if none.
/// </remarks>
public sealed class MultiSimilarityLoss : MetricLossModule
{
    private readonly MultiSimilarityLossOptions _options;

    /// <summary>Creates the loss.</summary>
    /// <param name="options">Options; null for alpha 2, beta 50, lambda 1, epsilon 0.1.</param>
    public MultiSimilarityLoss(MultiSimilarityLossOptions? options = null) : base(nameof(MultiSimilarityLoss))
    {
        _options = options ?? new MultiSimilarityLossOptions();
        if (!(_options.Alpha > 0) || !(_options.Beta > 0) || !(_options.Epsilon >= 0) || !double.IsFinite(_options.Lambda))
            throw new ArgumentOutOfRangeException(nameof(options), "MultiSimilarityLoss: need Alpha > 0, Beta > 0, Epsilon >= 0 and a finite Lambda.");
    }

    /// <summary>The options in use.</summary>
    public MultiSimilarityLossOptions Options => _options;

    /// <inheritdoc />
    public override string Name => "multi-similarity";

    /// <summary>Forces the torch form even where the fused CPU path applies (for tests comparing the two).</summary>
    internal bool TorchPath { get; set; }

    /// <summary>Computes the loss of a labelled batch.</summary>
    /// <param name="embeddings">L2-normalised embeddings [N, D].</param>
    /// <param name="labels">Integer labels [N].</param>
    public override Tensor forward(Tensor embeddings, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var y = LossInputs.Labelled(embeddings, labels, nameof(MultiSimilarityLoss));
        if (FusedPairwise.Supports(embeddings) && !TorchPath)
            return MultiSimilarityFused.Forward(embeddings, y, _options).MoveToOuterDisposeScope();
        var n = y.shape[0];
        var s = embeddings.mm(embeddings.t());
        var same = y.unsqueeze(1).eq(y.unsqueeze(0));
        var positive = same.logical_and(LossInputs.OffDiagonal(n, s));
        var negative = same.logical_not();
        var sd = s.detach();
        var minPos = sd.masked_fill(positive.logical_not(), double.PositiveInfinity).amin(new long[] { 1 }, keepdim: true);
        var maxNeg = sd.masked_fill(negative.logical_not(), double.NegativeInfinity).amax(new long[] { 1 }, keepdim: true);
        var keepNeg = negative.logical_and((sd + _options.Epsilon).gt(minPos));
        var keepPos = positive.logical_and((sd - _options.Epsilon).lt(maxNeg));
        var valid = keepPos.any(1).logical_and(keepNeg.any(1));
        // Masked entries become exp(-inf) = 0 (no inf * 0 = NaN for large similarities, no gradient).
        var posSum = (-_options.Alpha * (s - _options.Lambda)).masked_fill(keepPos.logical_not(), double.NegativeInfinity).exp().sum(1);
        var negSum = (_options.Beta * (s - _options.Lambda)).masked_fill(keepNeg.logical_not(), double.NegativeInfinity).exp().sum(1);
        var perAnchor = posSum.log1p() / _options.Alpha + negSum.log1p() / _options.Beta;
        var loss = (perAnchor * valid).sum() / n;
        return loss.MoveToOuterDisposeScope();
    }
}
