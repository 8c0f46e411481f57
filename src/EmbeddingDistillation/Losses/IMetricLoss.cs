using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Losses;

/// <summary>A metric-learning loss on a labelled batch: (embeddings [N, D], labels [N]) -> scalar.</summary>
public interface IMetricLoss
{
    /// <summary>A short name for logs and reports, e.g. <c>triplet</c>.</summary>
    string Name { get; }

    /// <summary>The loss's learnable parameters (e.g. proxies), to add to the optimiser; empty if none.</summary>
    IEnumerable<TorchSharp.Modules.Parameter> LearnableParameters();

    /// <summary>Computes the scalar loss.</summary>
    /// <param name="embeddings">Embeddings [N, D].</param>
    /// <param name="labels">Integer class labels [N] (int64), on the embeddings' device.</param>
    Tensor Compute(Tensor embeddings, Tensor labels);
}
