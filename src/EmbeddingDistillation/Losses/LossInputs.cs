using EmbeddingDistillation.Primitives;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Losses;

/// <summary>
/// Input checks shared by every loss, so that bad input fails with a message naming the tensor and its shape
/// instead of a native error or a silent NaN deep inside a kernel.
/// </summary>
internal static class LossInputs
{
    internal static string Shape(Tensor t) => TensorChecks.Shape(t);

    private static void Floating(Tensor t, string name, string loss)
    {
        if (t.dtype is not (ScalarType.Float32 or ScalarType.Float64 or ScalarType.Float16 or ScalarType.BFloat16))
            throw new ArgumentException($"{loss}: '{name}' must be a floating-point tensor; got {t.dtype} with shape {Shape(t)}.", name);
    }

    /// <summary>Checks one batch of embeddings [N, D] with N &gt; 0 and D &gt; 0 (NaN passes: a loss propagates it).</summary>
    internal static void Embeddings(Tensor t, string name, string loss) => TensorChecks.Embeddings(t, name, loss);

    /// <summary>Checks student and teacher embeddings of the same batch: same N, dtype and device; same D unless allowed.</summary>
    internal static void EmbeddingPair(Tensor student, Tensor teacher, string loss, bool sameDimension = true)
    {
        Embeddings(student, nameof(student), loss);
        Embeddings(teacher, nameof(teacher), loss);
        if (student.shape[0] != teacher.shape[0])
            throw new ArgumentException($"{loss}: student and teacher must embed the same batch; got student {Shape(student)} and teacher {Shape(teacher)}.", nameof(teacher));
        if (sameDimension && student.shape[1] != teacher.shape[1])
            throw new ArgumentException($"{loss}: student {Shape(student)} and teacher {Shape(teacher)} embeddings differ in dimension; enable a projection or use a relational loss.", nameof(teacher));
        SameKind(student, teacher, loss);
    }

    /// <summary>Relational losses need at least one pair.</summary>
    internal static void AtLeastTwo(Tensor x, string loss)
    {
        if (x.shape[0] < 2)
            throw new ArgumentException($"{loss}: needs at least 2 embeddings to form pairs; got {Shape(x)}.", "student");
    }

    /// <summary>Checks feature maps [N, C, H, W] of student and teacher: same N, dtype and device.</summary>
    internal static void MapPair(Tensor studentMap, Tensor teacherMap, string loss)
    {
        ArgumentNullException.ThrowIfNull(studentMap);
        ArgumentNullException.ThrowIfNull(teacherMap);
        if (studentMap.dim() != 4)
            throw new ArgumentException($"{loss}: 'studentMap' must have shape [N, C, H, W]; got {Shape(studentMap)}.", nameof(studentMap));
        if (teacherMap.dim() != 4)
            throw new ArgumentException($"{loss}: 'teacherMap' must have shape [N, C, H, W]; got {Shape(teacherMap)}.", nameof(teacherMap));
        if (studentMap.numel() == 0 || teacherMap.numel() == 0)
            throw new ArgumentException($"{loss}: empty feature map (student {Shape(studentMap)}, teacher {Shape(teacherMap)}).", nameof(studentMap));
        if (studentMap.shape[0] != teacherMap.shape[0])
            throw new ArgumentException($"{loss}: student map {Shape(studentMap)} and teacher map {Shape(teacherMap)} differ in batch size.", nameof(teacherMap));
        Floating(studentMap, nameof(studentMap), loss);
        Floating(teacherMap, nameof(teacherMap), loss);
        SameKind(studentMap, teacherMap, loss);
    }

    /// <summary>Checks a labelled batch: embeddings [N, D], integer labels [N] on the same device. Returns int64 labels.</summary>
    internal static Tensor Labelled(Tensor embeddings, Tensor labels, string loss)
    {
        Embeddings(embeddings, nameof(embeddings), loss);
        return TensorChecks.Labels(labels, embeddings, loss);
    }

    private static void SameKind(Tensor a, Tensor b, string loss)
    {
        if (a.dtype != b.dtype)
            throw new ArgumentException($"{loss}: student {Shape(a)} is {a.dtype} but teacher {Shape(b)} is {b.dtype}; convert one of them.", "teacher");
        if (!SameDevice(a, b))
            throw new ArgumentException($"{loss}: student is on {a.device} but teacher on {b.device}.", "teacher");
    }

    internal static bool SameDevice(Tensor a, Tensor b) => TensorChecks.SameDevice(a, b);

    /// <summary>A boolean [N, N] matrix that is true off the diagonal, on the device of <paramref name="like"/>.</summary>
    internal static Tensor OffDiagonal(long n, Tensor like) =>
        torch.eye(n, dtype: ScalarType.Bool, device: like.device).logical_not();

    /// <summary>A scalar zero connected to <paramref name="x"/>'s graph, so that backward runs (and yields zero gradients).</summary>
    internal static Tensor ConnectedZero(Tensor x) => (x * 0).sum();
}
