using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Losses;

/// <summary>
/// Base of the metric losses: a TorchSharp module <c>forward(embeddings, labels)</c> that is also an
/// <see cref="IMetricLoss"/> (<see cref="Compute"/> calls <c>forward</c>).
/// </summary>
public abstract class MetricLossModule : nn.Module<Tensor, Tensor, Tensor>, IMetricLoss
{
    /// <summary>Creates the module with the given TorchSharp module name.</summary>
    /// <param name="name">The module name.</param>
    protected MetricLossModule(string name) : base(name) { }

    /// <inheritdoc />
    public abstract string Name { get; }

    /// <inheritdoc />
    public virtual IEnumerable<TorchSharp.Modules.Parameter> LearnableParameters() => parameters();

    /// <inheritdoc />
    public Tensor Compute(Tensor embeddings, Tensor labels) => forward(embeddings, labels);
}
