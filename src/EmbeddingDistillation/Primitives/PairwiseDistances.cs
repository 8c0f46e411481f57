using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Primitives;

/// <summary>
/// The one pairwise-distance kernel of the library: losses, mining and evaluation all call it, so there is a
/// single place that decides numerics (Gram-matrix form, clamp before sqrt) and speed.
/// </summary>
internal static class PairwiseDistances
{
    /// <summary>The clamp applied to squared distances before the square root (as in the paper's code).</summary>
    public const double DefaultClamp = 1e-12;

    /// <summary>
    /// Squared Euclidean distances |x_i|^2 + |y_j|^2 - 2 x_i.y_j via one matmul, clamped at 0 against round-off.
    /// </summary>
    /// <param name="x">[M, D].</param>
    /// <param name="y">[N, D]; null means <paramref name="x"/> (the batch's own distance matrix).</param>
    public static Tensor SquaredEuclidean(Tensor x, Tensor? y = null)
    {
        Validate(x, y);
        using var scope = NewDisposeScope();
        var other = y ?? x;
        var xx = x.pow(2).sum(1, keepdim: true);
        var yy = ReferenceEquals(other, x) ? xx : other.pow(2).sum(1, keepdim: true);
        var d = torch.addmm(xx + yy.t(), x, other.t(), beta: 1, alpha: -2).clamp_min(0);
        return d.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Nearest-neighbour ranking scores |y_j|^2 - 2 x_i.y_j: the squared Euclidean distance minus the row constant
    /// |x_i|^2, from one addmm into a single [M, N] buffer (no clamp, no norm sum buffer). Per row it orders y like
    /// <see cref="SquaredEuclidean"/>; add |x_i|^2 (and clamp at 0) to the few entries a search keeps. For chunked kNN,
    /// where the full kernel's extra [M, N] passes would cost as much as the matmul's memory traffic.
    /// </summary>
    /// <param name="x">[M, D] queries.</param>
    /// <param name="y">[N, D] gallery.</param>
    /// <param name="yNormsSquared">|y_j|^2 as [N] (computed once per gallery by the caller), or null to compute it here.</param>
    public static Tensor SquaredEuclideanRowShifted(Tensor x, Tensor y, Tensor? yNormsSquared = null)
    {
        ArgumentNullException.ThrowIfNull(y);
        Validate(x, y);
        using var scope = NewDisposeScope();
        var yy = yNormsSquared ?? y.pow(2).sum(1);
        if (yy.dim() != 1 || yy.shape[0] != y.shape[0])
            throw new ArgumentException($"yNormsSquared must have shape [{y.shape[0]}]; got [{string.Join(", ", yy.shape)}].", nameof(yNormsSquared));
        return torch.addmm(yy.unsqueeze(0), x, y.t(), beta: 1, alpha: -2).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Euclidean distances sqrt(clamp(|x_i|^2 + |y_j|^2 - 2 x_i.y_j, <paramref name="clamp"/>)): the paper's
    /// distance. The clamp keeps the gradient finite for identical embeddings.
    /// </summary>
    /// <param name="x">[M, D].</param>
    /// <param name="y">[N, D]; null means <paramref name="x"/>.</param>
    /// <param name="clamp">Lower bound of the squared distance before the square root.</param>
    public static Tensor Euclidean(Tensor x, Tensor? y = null, double clamp = DefaultClamp)
    {
        Validate(x, y);
        // The batch's own matrix under autograd: one node with a hand-written, single-matmul backward.
        if (y is null && x.requires_grad && torch.is_grad_enabled())
            return EuclideanSelfDistanceFunction.apply(x, clamp);
        using var scope = NewDisposeScope();
        var other = y ?? x;
        var xx = x.pow(2).sum(1, keepdim: true);
        var yy = ReferenceEquals(other, x) ? xx : other.pow(2).sum(1, keepdim: true);
        var d = torch.addmm(xx + yy.t(), x, other.t(), beta: 1, alpha: -2).clamp_min(clamp).sqrt();
        return d.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Cosine distances 1 - x_i.y_j / (|x_i| |y_j|), each row L2-normalised with eps 1e-12 as in <c>F.normalize</c>.
    /// </summary>
    /// <param name="x">[M, D].</param>
    /// <param name="y">[N, D]; null means <paramref name="x"/>.</param>
    public static Tensor Cosine(Tensor x, Tensor? y = null)
    {
        Validate(x, y);
        using var scope = NewDisposeScope();
        var xn = nn.functional.normalize(x, p: 2, dim: 1, eps: 1e-12);
        var yn = y is null ? xn : nn.functional.normalize(y, p: 2, dim: 1, eps: 1e-12);
        var d = torch.addmm(torch.ones(1, 1, dtype: x.dtype, device: x.device), xn, yn.t(), beta: 1, alpha: -1);
        return d.MoveToOuterDisposeScope();
    }

    internal static void Validate(Tensor x, Tensor? y)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.dim() != 2)
            throw new ArgumentException($"Embeddings must have shape [N, D]; got [{string.Join(", ", x.shape)}].", nameof(x));
        if (y is null) return;
        if (y.dim() != 2 || y.shape[1] != x.shape[1])
            throw new ArgumentException($"Embeddings must have matching shape [*, {x.shape[1]}]; got [{string.Join(", ", y.shape)}].", nameof(y));
        if (y.dtype != x.dtype)
            throw new ArgumentException($"Embeddings must have the same dtype; got {x.dtype} and {y.dtype}.", nameof(y));
        if (y.device_type != x.device_type || y.device_index != x.device_index)
            throw new ArgumentException($"Embeddings must be on the same device; got {x.device} and {y.device}.", nameof(y));
    }
}
