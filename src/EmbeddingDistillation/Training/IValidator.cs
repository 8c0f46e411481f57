using EmbeddingDistillation.Networks;

namespace EmbeddingDistillation.Training;

/// <summary>
/// Scores a network on validation data during training (the trainer keeps the best checkpoint by one of the
/// returned metrics). The retrieval implementation lives in <c>EmbeddingDistillation.Evaluation</c>, which keeps
/// the dependency flow one-way: evaluation depends on training, not the reverse.
/// </summary>
public interface IValidator
{
    /// <summary>Scores <paramref name="network"/>; keys are metric names such as <c>recall@1</c> or <c>map@r</c> (higher is better).</summary>
    /// <param name="network">The network being trained (the validator switches it to eval mode and back).</param>
    /// <param name="cancellationToken">Cancels the validation.</param>
    IReadOnlyDictionary<string, double> Validate(IEmbeddingNetwork network, CancellationToken cancellationToken);
}
