using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Losses;

/// <summary>Options of <see cref="AbsoluteTeacherLoss"/>.</summary>
public sealed record AbsoluteTeacherLossOptions
{
    /// <summary>
    /// Use the squared variant: <c>mse_loss(s, t)</c> (mean over all N*D elements of (s - t)^2) instead of the
    /// paper's mean Euclidean distance. Default false (paper).
    /// </summary>
    public bool Squared { get; init; }

    /// <summary>
    /// Student embedding dimension for a learnable projection (Linear student -&gt; teacher, with bias, PyTorch's
    /// default initialisation). 0 (default) means no projection: then student and teacher must have the same dimension.
    /// </summary>
    public int StudentDimension { get; init; }

    /// <summary>Teacher embedding dimension for the projection; used only when <see cref="StudentDimension"/> &gt; 0.</summary>
    public int TeacherDimension { get; init; }

    /// <summary>The eps added to the difference before the norm, as in torch's pairwise_distance. Default 1e-6.</summary>
    public double Eps { get; init; } = 1e-6;
}

/// <summary>
/// The paper's absolute teacher term: L_abs = mean_i || s_i - t_i + eps ||_2 (Yu et al., CVPR 2019), i.e. the student
/// regresses the teacher's embedding of each image. The eps (1e-6, as in <c>F.pairwise_distance</c>) keeps the
/// gradient finite when s_i = t_i.
/// </summary>
public sealed class AbsoluteTeacherLoss : EmbeddingDistillationLoss
{
    private readonly AbsoluteTeacherLossOptions _options;
    private readonly TorchSharp.Modules.Linear? projection;

    /// <summary>Creates the paper's loss (no options) or a variant.</summary>
    /// <param name="options">Options; null for the paper's defaults.</param>
    public AbsoluteTeacherLoss(AbsoluteTeacherLossOptions? options = null) : base(nameof(AbsoluteTeacherLoss))
    {
        _options = options ?? new AbsoluteTeacherLossOptions();
        if (_options.StudentDimension < 0 || (_options.StudentDimension > 0 && _options.TeacherDimension <= 0))
            throw new ArgumentException($"AbsoluteTeacherLoss: a projection needs positive StudentDimension and TeacherDimension; got {_options.StudentDimension} and {_options.TeacherDimension}.", nameof(options));
        if (_options.StudentDimension > 0)
            projection = nn.Linear(_options.StudentDimension, _options.TeacherDimension);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override string Name => "absolute";

    /// <summary>The learnable projection student -&gt; teacher dimension, or null when disabled.</summary>
    internal TorchSharp.Modules.Linear? Projection => projection;

    /// <summary>Computes the loss for student [N, Ds] and teacher [N, Dt] embeddings of the same images.</summary>
    /// <param name="student">Student embeddings [N, Ds].</param>
    /// <param name="teacher">Teacher embeddings [N, Dt] (no gradient flows into them).</param>
    public override Tensor forward(Tensor student, Tensor teacher)
    {
        LossInputs.EmbeddingPair(student, teacher, nameof(AbsoluteTeacherLoss), sameDimension: projection is null);
        if (projection is not null && student.shape[1] != _options.StudentDimension)
            throw new ArgumentException($"AbsoluteTeacherLoss: the projection expects student dimension {_options.StudentDimension}; got student {LossInputs.Shape(student)}.", nameof(student));
        if (projection is not null && teacher.shape[1] != _options.TeacherDimension)
            throw new ArgumentException($"AbsoluteTeacherLoss: the projection maps to teacher dimension {_options.TeacherDimension}; got teacher {LossInputs.Shape(teacher)}.", nameof(teacher));
        using var scope = NewDisposeScope();
        if (projection is not null && (projection.weight!.dtype != student.dtype || !LossInputs.SameDevice(projection.weight, student)))
            throw new ArgumentException($"AbsoluteTeacherLoss: the projection is {projection.weight.dtype} on {projection.weight.device} but the embeddings are {student.dtype} on {student.device}; move the loss with .to().", nameof(student));
        var s = projection is null ? student : projection.forward(student);
        var t = teacher.detach();
        var diff = s - t;
        var loss = _options.Squared
            ? diff.pow(2).mean()
            : (diff + _options.Eps).pow(2).sum(1).sqrt().mean();
        return loss.MoveToOuterDisposeScope();
    }
}
