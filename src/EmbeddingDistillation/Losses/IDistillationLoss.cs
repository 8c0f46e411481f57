using EmbeddingDistillation.Networks;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Losses;

/// <summary>
/// A distillation term computed from the student's and the frozen teacher's outputs for the same images.
/// Embedding-based terms (absolute, relative, RKD, relaxed contrastive) read <see cref="EmbeddingOutput.Embedding"/>;
/// map-based terms (hint, attention) read named taps.
/// </summary>
public interface IDistillationLoss
{
    /// <summary>A short name for logs and reports, e.g. <c>absolute</c>.</summary>
    string Name { get; }

    /// <summary>The student taps this term reads (empty for embedding-based terms).</summary>
    IReadOnlyCollection<string> StudentTaps { get; }

    /// <summary>The teacher taps this term reads (empty for embedding-based terms).</summary>
    IReadOnlyCollection<string> TeacherTaps { get; }

    /// <summary>The term's learnable parameters (e.g. the hint regressor), to add to the optimiser; empty if none.</summary>
    IEnumerable<TorchSharp.Modules.Parameter> LearnableParameters();

    /// <summary>Computes the scalar term. The teacher output carries no gradient.</summary>
    /// <param name="student">The student's output.</param>
    /// <param name="teacher">The teacher's output for the same images.</param>
    Tensor Compute(EmbeddingOutput student, EmbeddingOutput teacher);
}
