using EmbeddingDistillation.Networks;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Losses;

/// <summary>
/// Base of the distillation terms that read the final embeddings of student and teacher (absolute, relative,
/// RKD, relaxed contrastive): <see cref="Compute"/> forwards the two embeddings to <c>forward</c>.
/// </summary>
public abstract class EmbeddingDistillationLoss : nn.Module<Tensor, Tensor, Tensor>, IDistillationLoss
{
    private static readonly IReadOnlyCollection<string> NoTaps = Array.Empty<string>();

    /// <summary>Creates the module with the given TorchSharp module name.</summary>
    /// <param name="name">The module name, also used in logs.</param>
    protected EmbeddingDistillationLoss(string name) : base(name) { }

    /// <inheritdoc />
    public abstract string Name { get; }

    /// <inheritdoc />
    public IReadOnlyCollection<string> StudentTaps => NoTaps;

    /// <inheritdoc />
    public IReadOnlyCollection<string> TeacherTaps => NoTaps;

    /// <inheritdoc />
    public virtual IEnumerable<TorchSharp.Modules.Parameter> LearnableParameters() => parameters();

    /// <inheritdoc />
    public Tensor Compute(EmbeddingOutput student, EmbeddingOutput teacher)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(teacher);
        return forward(student.Embedding, teacher.Embedding);
    }
}
