using static TorchSharp.torch;

namespace EmbeddingDistillation.Evaluation;

/// <summary>
/// The k nearest gallery items of every query: <see cref="Indices"/> [Q, k] int64 and <see cref="Distances"/>
/// [Q, k] (the queries' dtype), both on the queries' device, nearest first, ties by lower gallery index.
/// </summary>
/// <remarks>Owns both tensors; disposing the result disposes them.</remarks>
internal sealed class KnnResult : IDisposable
{
    internal KnnResult(Tensor indices, Tensor distances)
    {
        Indices = indices;
        Distances = distances;
    }

    /// <summary>Gallery indices of the neighbours, [Q, k] int64, nearest first.</summary>
    public Tensor Indices { get; }

    /// <summary>
    /// Distances of the neighbours, [Q, k]: Euclidean distance, or 1 - cos for <see cref="KnnMetric.Cosine"/>.
    /// </summary>
    public Tensor Distances { get; }

    /// <summary>Disposes both tensors.</summary>
    public void Dispose()
    {
        Indices.Dispose();
        Distances.Dispose();
    }
}
