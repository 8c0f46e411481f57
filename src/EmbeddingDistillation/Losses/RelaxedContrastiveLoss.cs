using EmbeddingDistillation.Primitives;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Losses;

/// <summary>Options of <see cref="RelaxedContrastiveLoss"/>.</summary>
public sealed record RelaxedContrastiveLossOptions
{
    /// <summary>Bandwidth sigma of the teacher's soft labels w_ij = exp(-||t_i - t_j||^2 / sigma). Default 1.</summary>
    public double Sigma { get; init; } = 1.0;

    /// <summary>Margin delta of the push term relu(delta - d_ij)^2. Default 1.</summary>
    public double Delta { get; init; } = 1.0;

    /// <summary>Divide each student distance d_ij by its row mean over all N entries (diagonal zero included), as the authors' code does. Default true.</summary>
    public bool NormaliseByRowMean { get; init; } = true;
}

/// <summary>
/// Relaxed contrastive loss (Kim, Jung, Kwak, "Embedding Transfer with Label Relaxation for Improved Metric
/// Learning", CVPR 2021): the teacher's similarities act as soft labels for a contrastive loss on the student.
/// </summary>
/// <remarks>
/// As the authors' code (LabelRelaxation-CVPR21, <c>code/Relaxed_losses.py</c>, <c>Relaxed_Contra</c>; there the
/// trained network's embedding is the first argument): t̂ = L2-normalised teacher embeddings;
/// w_ij = exp(-||t̂_i - t̂_j||^2 / sigma) (no gradient); d_ij = the student's Euclidean distance (clamp 1e-12 before the
/// sqrt, diagonal 0), divided by its row mean over all N entries when
/// <see cref="RelaxedContrastiveLossOptions.NormaliseByRowMean"/>; loss = 1 / N * sum_{i != j}
/// [ w_ij d_ij^2 + (1 - w_ij) relu(delta - d_ij)^2 ]. The student embedding is used as given (not normalised).
/// Checked against that formula in float64 (tests/.../Fixtures/Losses/make_reference.py).
/// </remarks>
public sealed class RelaxedContrastiveLoss : EmbeddingDistillationLoss
{
    private readonly RelaxedContrastiveLossOptions _options;

    /// <summary>Creates the loss.</summary>
    /// <param name="options">Options; null for the defaults (sigma 1, delta 1, row-mean normalisation).</param>
    public RelaxedContrastiveLoss(RelaxedContrastiveLossOptions? options = null) : base(nameof(RelaxedContrastiveLoss))
    {
        _options = options ?? new RelaxedContrastiveLossOptions();
        if (!(_options.Sigma > 0) || double.IsInfinity(_options.Sigma))
            throw new ArgumentOutOfRangeException(nameof(options), _options.Sigma, "RelaxedContrastiveLoss: Sigma must be a finite number > 0.");
        if (!(_options.Delta >= 0) || double.IsInfinity(_options.Delta))
            throw new ArgumentOutOfRangeException(nameof(options), _options.Delta, "RelaxedContrastiveLoss: Delta must be a finite number >= 0.");
    }

    /// <inheritdoc />
    public override string Name => "relaxed-contrastive";

    /// <summary>The options in use.</summary>
    public RelaxedContrastiveLossOptions Options => _options;

    /// <summary>Computes the loss for student [N, Ds] and teacher [N, Dt] embeddings (N &gt;= 2).</summary>
    /// <param name="student">Student embeddings [N, Ds].</param>
    /// <param name="teacher">Teacher embeddings [N, Dt].</param>
    public override Tensor forward(Tensor student, Tensor teacher)
    {
        LossInputs.EmbeddingPair(student, teacher, nameof(RelaxedContrastiveLoss), sameDimension: false);
        LossInputs.AtLeastTwo(student, nameof(RelaxedContrastiveLoss));
        using var scope = NewDisposeScope();
        var n = student.shape[0];
        var off = LossInputs.OffDiagonal(n, student);
        Tensor w;
        using (no_grad())
        {
            var tn = nn.functional.normalize(teacher.detach(), p: 2, dim: 1);
            w = (PairwiseDistances.SquaredEuclidean(tn) / -_options.Sigma).exp();
        }
        var d = PairwiseDistances.Euclidean(student) * off;
        if (_options.NormaliseByRowMean)
            d = d / (d.sum(1, keepdim: true) / n); // mean over all n entries, the zero diagonal included (authors' code)
        var pull = w * d.pow(2);
        var push = (1 - w) * nn.functional.relu(_options.Delta - d).pow(2);
        var loss = ((pull + push) * off).sum() / n; // divided by n, not n(n-1) (authors' code)
        return loss.MoveToOuterDisposeScope();
    }
}
