using System.Globalization;
using EmbeddingDistillation.Data;
using EmbeddingDistillation.Networks;
using EmbeddingDistillation.Training;

namespace EmbeddingDistillation.Evaluation;

/// <summary>
/// Validates a network during training by retrieval on held-out validation classes: embeds the set (eval mode, no
/// gradient, test view), then reports <c>recall@K</c> for each K, <c>map@r</c> and <c>r-precision</c>, and the inputs of
/// a <see cref="CollapseCheck"/>: <c>chance@1</c> (Recall@1 of uninformative embeddings) and <c>spread</c>.
/// </summary>
public sealed class RetrievalValidator : IValidator
{
    private readonly IEmbeddingDataset dataset;
    private readonly int[] ks;
    private readonly int batchSize;

    /// <summary>Creates a validator.</summary>
    /// <param name="dataset">Validation samples (classes disjoint from training and test classes).</param>
    /// <param name="ks">Recall cut-offs (default <see cref="RecallPresets.Quickstart"/>).</param>
    /// <param name="batchSize">Embedding batch size (default <see cref="EmbeddingExtractor.DefaultBatchSize"/>).</param>
    public RetrievalValidator(IEmbeddingDataset dataset, IReadOnlyList<int>? ks = null, int batchSize = EmbeddingExtractor.DefaultBatchSize)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (dataset.Count < 2)
            throw new ArgumentException($"Validation set '{dataset.Name}' needs at least 2 samples; it has {dataset.Count}.", nameof(dataset));
        this.dataset = dataset;
        this.ks = (ks ?? RecallPresets.Quickstart).ToArray();
        this.batchSize = batchSize;
    }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, double> Validate(IEmbeddingNetwork network, CancellationToken cancellationToken)
    {
        using var extracted = EmbeddingExtractor.Extract(network, dataset, batchSize, cancellationToken);
        var result = RetrievalMetrics.Evaluate(extracted.Embeddings, extracted.Labels, ks, cancellationToken: cancellationToken);
        var metrics = new Dictionary<string, double>();
        foreach (var (k, v) in result.RecallAtK) metrics["recall@" + k.ToString(CultureInfo.InvariantCulture)] = v;
        metrics["map@r"] = result.MapAtR;
        metrics["r-precision"] = result.RPrecision;
        // The inputs of a collapse check after training (CollapseCheck.FromMetrics).
        metrics["chance@1"] = CollapseCheck.ChanceOf(extracted.Labels);
        metrics["spread"] = CollapseCheck.SpreadOf(extracted.Embeddings);
        return metrics;
    }
}
