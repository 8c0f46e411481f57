using EmbeddingDistillation.Primitives;
using EmbeddingDistillation.Data;
using EmbeddingDistillation.Networks;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Evaluation;

/// <summary>Embeddings of a whole dataset with their labels: <see cref="Embeddings"/> [N, D] float32 CPU, <see cref="Labels"/> [N] int64 CPU.</summary>
/// <remarks>Owns both tensors; disposing it disposes them.</remarks>
public sealed class ExtractedEmbeddings : IDisposable
{
    internal ExtractedEmbeddings(Tensor embeddings, Tensor labels)
    {
        Embeddings = embeddings;
        Labels = labels;
    }

    /// <summary>The embeddings in dataset order, [N, D] float32 on the CPU.</summary>
    public Tensor Embeddings { get; }

    /// <summary>The dataset labels, [N] int64 on the CPU (-1 for unlabelled samples).</summary>
    public Tensor Labels { get; }

    /// <summary>Disposes both tensors.</summary>
    public void Dispose()
    {
        Embeddings.Dispose();
        Labels.Dispose();
    }
}

/// <summary>
/// Embeds every sample of an <see cref="IEmbeddingDataset"/> with an <see cref="IEmbeddingNetwork"/> for evaluation:
/// eval mode, no gradient, the deterministic test view (<c>augment: false, seed: 0</c>), batches moved to the
/// network's device (that of its first parameter; CPU for a parameterless module) and dtype.
/// </summary>
public static class EmbeddingExtractor
{
    /// <summary>The default batch size: 64.</summary>
    public const int DefaultBatchSize = 64;

    /// <summary>
    /// Embeds the dataset in order. The module's previous training mode is restored afterwards, also on failure or
    /// cancellation.
    /// </summary>
    /// <param name="network">The network; its module is switched to eval mode during extraction.</param>
    /// <param name="dataset">The samples, loaded <paramref name="batchSize"/> at a time.</param>
    /// <param name="batchSize">Images per forward pass, at least 1. Default <see cref="DefaultBatchSize"/>.</param>
    /// <param name="cancellationToken">Checked before every batch.</param>
    public static ExtractedEmbeddings Extract(IEmbeddingNetwork network, IEmbeddingDataset dataset,
        int batchSize = DefaultBatchSize, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(dataset);
        if (batchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "The extraction batch size must be at least 1.");
        var count = dataset.Count;
        if (count < 1)
            throw new ArgumentException($"Dataset '{dataset.Name}' is empty: nothing to embed.", nameof(dataset));
        if (dataset.Labels.Count != count)
            throw new ArgumentException($"Dataset '{dataset.Name}' has {count} samples but {dataset.Labels.Count} labels.", nameof(dataset));

        var module = network.Module;
        var parameter = module.parameters().FirstOrDefault();
        var device = parameter?.device ?? CPU;
        var dtype = parameter?.dtype ?? ScalarType.Float32;
        var dimension = network.EmbeddingDimension;

        var wasTraining = module.training;
        var embeddings = empty(count, dimension, dtype: ScalarType.Float32, device: CPU);
        try
        {
            module.eval();
            using var noGrad = no_grad();
            for (var start = 0; start < count; start += batchSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                var size = Math.Min(batchSize, count - start);
                var images = dataset.LoadImages(Enumerable.Range(start, size).ToArray(), augment: false, seed: 0).to(dtype, device);
                using var output = network.Embed(images);
                var embedding = output.Embedding;
                if (embedding.shape[0] != size || embedding.shape[1] != dimension)
                    throw new InvalidOperationException(
                        $"Network '{network.Name}' returned an embedding of shape {TensorChecks.Shape(embedding)} for {size} images; expected [{size}, {dimension}].");
                embeddings.narrow(0, start, size).copy_(embedding.to(ScalarType.Float32, CPU));
            }
        }
        catch
        {
            embeddings.Dispose();
            throw;
        }
        finally
        {
            module.train(wasTraining);
        }
        var labels = tensor(dataset.Labels.Select(l => (long)l).ToArray(), dtype: ScalarType.Int64);
        return new ExtractedEmbeddings(embeddings, labels);
    }
}
