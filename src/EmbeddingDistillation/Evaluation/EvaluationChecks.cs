using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Evaluation;

/// <summary>Input validation shared by the evaluation entry points: every message names the tensor and its shape.</summary>
internal static class EvaluationChecks
{
    internal static string Shape(Tensor t) => $"[{string.Join(", ", t.shape)}]";

    /// <summary>Embeddings must be a finite float32/float64 matrix [N, D] with at least <paramref name="minRows"/> rows.</summary>
    internal static void Embeddings(Tensor embeddings, string name, long minRows = 1)
    {
        ArgumentNullException.ThrowIfNull(embeddings, name);
        if (embeddings.dim() != 2)
            throw new ArgumentException($"{name} must have shape [N, D]; got {Shape(embeddings)}.", name);
        if (embeddings.dtype != ScalarType.Float32 && embeddings.dtype != ScalarType.Float64)
            throw new ArgumentException($"{name} must be float32 or float64; got {embeddings.dtype} with shape {Shape(embeddings)}.", name);
        if (embeddings.shape[1] == 0)
            throw new ArgumentException($"{name} must have at least one dimension per row; got shape {Shape(embeddings)}.", name);
        if (embeddings.shape[0] < minRows)
            throw new ArgumentException($"{name} must have at least {minRows} row(s); got shape {Shape(embeddings)}.", name);
        using var scope = NewDisposeScope();
        if (!embeddings.isfinite().all().item<bool>())
            throw new ArgumentException($"{name} {Shape(embeddings)} contains NaN or infinite values.", name);
    }

    /// <summary>Labels must be an integer vector with one entry per embedding row; returns them as managed longs.</summary>
    internal static long[] Labels(Tensor labels, Tensor embeddings, string name, string embeddingsName)
    {
        ArgumentNullException.ThrowIfNull(labels, name);
        if (labels.dim() != 1)
            throw new ArgumentException($"{name} must be a vector [N]; got shape {Shape(labels)}.", name);
        if (labels.shape[0] != embeddings.shape[0])
            throw new ArgumentException(
                $"{name} has {labels.shape[0]} entries but {embeddingsName} has shape {Shape(embeddings)}: one label per row is required.", name);
        if (labels.dtype is not (ScalarType.Int64 or ScalarType.Int32 or ScalarType.Int16 or ScalarType.Int8 or ScalarType.Byte))
            throw new ArgumentException($"{name} must have an integer dtype; got {labels.dtype}.", name);
        using var scope = NewDisposeScope();
        var cpu = labels.to(ScalarType.Int64, CPU);
        return cpu.data<long>().ToArray();
    }
}
