using EmbeddingDistillation.Primitives;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Losses;

/// <summary>Which distance the relative teacher compares.</summary>
public enum RelativeDistance
{
    /// <summary>sqrt(clamp(|x|^2 + |y|^2 - 2 x.y, 1e-12)): the paper's distance (default).</summary>
    Euclidean,
    /// <summary>|x|^2 + |y|^2 - 2 x.y (clamped at 0).</summary>
    SquaredEuclidean,
    /// <summary>1 - cos(x, y), with x and y L2-normalised (eps 1e-12).</summary>
    Cosine,
}

/// <summary>How the relative teacher reduces D_S - D_T to a scalar.</summary>
public enum RelativeReduction
{
    /// <summary>|| D_S - D_T ||_F over all N x N entries, not squared, not averaged: the paper (default).</summary>
    Frobenius,
    /// <summary>mean over all N x N entries of |D_S - D_T|.</summary>
    MeanAbsolute,
    /// <summary>mean over all N x N entries of (D_S - D_T)^2.</summary>
    MeanSquared,
    /// <summary>
    /// sqrt(mean over all N x N entries of (D_S - D_T)^2) = || D_S - D_T ||_F / N: the paper's loss made independent
    /// of the batch size (the Frobenius norm grows linearly with N), so one weight serves every batch size.
    /// </summary>
    RootMeanSquare,
}

/// <summary>Options of <see cref="RelativeTeacherLoss"/>.</summary>
public sealed record RelativeTeacherLossOptions
{
    /// <summary>The distance of both matrices. Default <see cref="RelativeDistance.Euclidean"/> (paper).</summary>
    public RelativeDistance Distance { get; init; } = RelativeDistance.Euclidean;

    /// <summary>The reduction. Default <see cref="RelativeReduction.Frobenius"/> (paper).</summary>
    public RelativeReduction Reduction { get; init; } = RelativeReduction.Frobenius;
}

/// <summary>
/// The paper's relative teacher term: L_rel = || D_S - D_T ||_F (Yu et al., CVPR 2019), D the batch's distance
/// matrix over all ordered pairs. The student learns the teacher's geometry, not its coordinates, so student and
/// teacher dimensions may differ.
/// </summary>
public sealed class RelativeTeacherLoss : EmbeddingDistillationLoss
{
    private readonly RelativeTeacherLossOptions _options;

    /// <summary>Creates the paper's loss (no options) or a variant.</summary>
    /// <param name="options">Options; null for the paper's defaults.</param>
    public RelativeTeacherLoss(RelativeTeacherLossOptions? options = null) : base(nameof(RelativeTeacherLoss))
    {
        _options = options ?? new RelativeTeacherLossOptions();
    }

    /// <inheritdoc />
    public override string Name => "relative";

    /// <summary>The options in use.</summary>
    public RelativeTeacherLossOptions Options => _options;

    /// <summary>Forces the torch form even where the fused CPU path applies (for tests comparing the two).</summary>
    internal bool TorchPath { get; set; }

    /// <summary>Computes the loss for student [N, Ds] and teacher [N, Dt] embeddings of the same images.</summary>
    /// <param name="student">Student embeddings [N, Ds].</param>
    /// <param name="teacher">Teacher embeddings [N, Dt] (no gradient flows into them).</param>
    public override Tensor forward(Tensor student, Tensor teacher)
    {
        LossInputs.EmbeddingPair(student, teacher, nameof(RelativeTeacherLoss), sameDimension: false);
        using var scope = NewDisposeScope();
        // Root-mean-square is the Frobenius norm divided by N: computed through the Frobenius path (fused on the CPU).
        bool rms = _options.Reduction == RelativeReduction.RootMeanSquare;
        var loss = Reduce(student, teacher, rms ? RelativeReduction.Frobenius : _options.Reduction);
        if (rms) loss = loss / student.shape[0];
        return loss.MoveToOuterDisposeScope();
    }

    private Tensor Reduce(Tensor student, Tensor teacher, RelativeReduction reduction)
    {
        if (RelativeTeacherFused.Applies(_options, student) && TorchPath is false)
            return RelativeTeacherFused.Forward(student, teacher, reduction);
        Tensor dt;
        using (no_grad()) dt = Distances(teacher.detach());
        var diff = Distances(student) - dt;
        return reduction switch
        {
            // Clamp the tiny sum before the sqrt so that D_S = D_T (e.g. identical batches) keeps a finite gradient.
            RelativeReduction.Frobenius => diff.pow(2).sum().clamp_min(1e-30).sqrt(),
            RelativeReduction.MeanAbsolute => diff.abs().mean(),
            RelativeReduction.MeanSquared => diff.pow(2).mean(),
            _ => throw new ArgumentOutOfRangeException(nameof(reduction), reduction, "Unknown reduction."),
        };
    }

    private Tensor Distances(Tensor x) => _options.Distance switch
    {
        RelativeDistance.Euclidean => PairwiseDistances.Euclidean(x),
        RelativeDistance.SquaredEuclidean => PairwiseDistances.SquaredEuclidean(x),
        RelativeDistance.Cosine => PairwiseDistances.Cosine(x),
        _ => throw new ArgumentOutOfRangeException(nameof(_options.Distance), _options.Distance, "Unknown distance."),
    };
}
