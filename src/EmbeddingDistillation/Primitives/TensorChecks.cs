using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Primitives;

/// <summary>
/// The input checks of every loss and every evaluation entry point: bad input fails with a message that names the
/// caller, the argument and its shape, instead of a native error or a silent NaN deep inside a kernel.
/// </summary>
internal static class TensorChecks
{
    internal static string Shape(Tensor t) => "[" + string.Join(", ", t.shape) + "]";

    /// <summary>
    /// A matrix of embeddings [N, D] with N &gt;= <paramref name="minRows"/> and D &gt;= 1 of a floating dtype
    /// (float16 and bfloat16 only when <paramref name="allowHalf"/>); with <paramref name="finite"/>, also free of NaN
    /// and infinities (one host copy: evaluation, never a training step, where NaN must propagate instead).
    /// </summary>
    internal static void Embeddings(Tensor t, string name, string caller, long minRows = 1, bool allowHalf = true, bool finite = false)
    {
        ArgumentNullException.ThrowIfNull(t, name);
        if (t.dim() != 2)
            throw new ArgumentException($"{caller}: '{name}' must have shape [N, D]; got {Shape(t)}.", name);
        if (t.shape[1] == 0 || (t.shape[0] == 0 && minRows > 0))
            throw new ArgumentException($"{caller}: '{name}' is empty (shape {Shape(t)}); at least {Math.Max(1, minRows)} embedding(s) of positive dimension are needed.", name);
        if (t.shape[0] < minRows)
            throw new ArgumentException($"{caller}: '{name}' must have at least {minRows} rows; got shape {Shape(t)}.", name);
        bool floating = t.dtype is ScalarType.Float32 or ScalarType.Float64 || (allowHalf && t.dtype is ScalarType.Float16 or ScalarType.BFloat16);
        if (!floating)
            throw new ArgumentException($"{caller}: '{name}' must be a floating-point tensor ({(allowHalf ? "float16 to float64" : "float32 or float64")}); got {t.dtype} with shape {Shape(t)}.", name);
        if (finite)
        {
            using var scope = NewDisposeScope();
            if (!t.isfinite().all().item<bool>())
                throw new ArgumentException($"{caller}: '{name}' {Shape(t)} contains NaN or infinite values.", name);
        }
    }

    /// <summary>Integer labels [N], one per row of <paramref name="embeddings"/>, on its device; returns them as int64.</summary>
    internal static Tensor Labels(Tensor labels, Tensor embeddings, string caller, string name = "labels", string embeddingsName = "embeddings")
    {
        ArgumentNullException.ThrowIfNull(labels, name);
        if (labels.dim() != 1 || labels.shape[0] != embeddings.shape[0])
            throw new ArgumentException(
                $"{caller}: '{name}' must be a vector with one label per row of '{embeddingsName}' {Shape(embeddings)}; got shape {Shape(labels)} ({(labels.dim() == 1 ? labels.shape[0] : labels.numel())} entries).", name);
        if (labels.dtype is not (ScalarType.Int64 or ScalarType.Int32 or ScalarType.Int16 or ScalarType.Int8 or ScalarType.Byte))
            throw new ArgumentException($"{caller}: '{name}' must be an integer tensor; got {labels.dtype}.", name);
        if (!SameDevice(labels, embeddings))
            throw new ArgumentException($"{caller}: '{name}' are on {labels.device} but '{embeddingsName}' on {embeddings.device}.", name);
        return labels.dtype == ScalarType.Int64 ? labels.alias() : labels.to_type(ScalarType.Int64);
    }

    /// <summary>Device equality by type and index (TorchSharp's Device compares by reference).</summary>
    internal static bool SameDevice(Tensor a, Tensor b) => a.device_type == b.device_type && a.device_index == b.device_index;
}
