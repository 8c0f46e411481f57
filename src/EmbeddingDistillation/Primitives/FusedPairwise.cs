using System.Numerics;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Primitives;

/// <summary>
/// Support for the fused CPU paths of the pairwise losses: torch does the matmuls (Gram or squared-distance matrix
/// forward, one N x N x D matmul backward), plain C# loops do every element-wise step over the N x N matrix and write
/// the gradient coefficient matrix W directly, so that dLoss/dx = W x.
/// </summary>
/// <remarks>
/// Why: at D = 128 the dozens of element-wise libtorch kernels (and their ~10-20 us TorchSharp dispatch each) of the
/// autograd form cost more than the matmul itself. The loops read and write tensor memory in place through
/// <c>Tensor.bytes</c> (no copies). Losses use this path on CPU in float32/float64 and fall back to their torch form
/// elsewhere; tests check both agree.
/// </remarks>
internal static class FusedPairwise
{
    /// <summary>True when the fused path applies: CPU tensors of float32 or float64.</summary>
    internal static bool Supports(Tensor x) =>
        x.device_type == DeviceType.CPU && (x.dtype == ScalarType.Float32 || x.dtype == ScalarType.Float64);

    /// <summary>True when the loss must record a gradient for <paramref name="x"/>.</summary>
    internal static bool NeedsGradient(Tensor x) => x.requires_grad && torch.is_grad_enabled();

    /// <summary>
    /// Squared distances |x_i|^2 + |x_j|^2 - 2 x_i.x_j without gradient, computed exactly as
    /// <see cref="PairwiseDistances.Euclidean"/> does before its clamp, so both paths see the same numbers.
    /// </summary>
    internal static Tensor SquaredDistances(Tensor x)
    {
        using var noGrad = no_grad();
        var xd = x.detach();
        var sq = xd.pow(2).sum(1, keepdim: true);
        return torch.addmm(sq + sq.t(), xd, xd.t(), beta: 1, alpha: -2).contiguous();
    }

    /// <summary>The Gram matrix x x^T without gradient.</summary>
    internal static Tensor Gram(Tensor x)
    {
        using var noGrad = no_grad();
        var xd = x.detach();
        return xd.mm(xd.t()).contiguous();
    }

    /// <summary>An uninitialised N x N gradient matrix of x's dtype (CPU).</summary>
    internal static Tensor NewWeights(Tensor x) => torch.empty(x.shape[0], x.shape[0], dtype: x.dtype, device: x.device);

    /// <summary>The elements of a contiguous CPU tensor, in place.</summary>
    internal static Span<T> Elements<T>(Tensor t) where T : unmanaged => MemoryMarshal.Cast<byte, T>(t.bytes);

    /// <summary>Labels as a managed array (int64 CPU).</summary>
    internal static long[] Labels(Tensor labels)
    {
        using var l = labels.to_type(ScalarType.Int64).contiguous();
        return MemoryMarshal.Cast<byte, long>(l.bytes).ToArray();
    }

    /// <summary>
    /// The loss as a tensor of x's dtype; with <paramref name="weights"/> (W, dLoss/dx = W x) it is an autograd node
    /// whose backward is one matmul.
    /// </summary>
    internal static Tensor Finish(Tensor x, double loss, Tensor? weights)
    {
        var value = torch.tensor(loss, dtype: x.dtype, device: x.device);
        if (weights is null) return value;
        return PrecomputedGradientFunction.apply(x, new PrecomputedGradientFunction.Payload(value, weights));
    }

    /// <summary>1 / (2 d) where the clamp of d^2 is inactive (d2 &gt;= clamp), else 0: dd/d(d^2), as autograd gives it.</summary>
    internal static T HalfInverse<T>(T d2, T d, T clamp) where T : IFloatingPointIeee754<T> =>
        d2 >= clamp ? T.CreateTruncating(0.5) / d : T.Zero;

    /// <summary>sqrt(clamp_min(d2, clamp)) in T, bit-identical to the torch form (both correctly rounded).</summary>
    internal static T Distance<T>(T d2, T clamp) where T : IFloatingPointIeee754<T> => T.Sqrt(T.IsNaN(d2) ? d2 : T.Max(d2, clamp));

    /// <summary>
    /// Turns a = scale * dLoss/d(d^2) (N x N, in place; the diagonal is ignored) into W with dLoss/dx = W x:
    /// with S = a + a^T, d(d^2_ij)/dx_i = 2 (x_i - x_j) gives W = 2 (diag(rowsum S) - S).
    /// </summary>
    internal static void DistanceWeights<T>(Span<T> a, int n, double scale) where T : IFloatingPointIeee754<T>
    {
        var rowSums = new double[n];
        var minusTwoScale = T.CreateTruncating(-2 * scale);
        for (var i = 0; i < n; i++)
        {
            var row = i * n;
            for (var j = i + 1; j < n; j++)
            {
                var s = a[row + j] + a[j * n + i];
                var sd = double.CreateTruncating(s);
                rowSums[i] += sd;
                rowSums[j] += sd;
                var w = minusTwoScale * s;
                a[row + j] = w;
                a[j * n + i] = w;
            }
        }
        for (var i = 0; i < n; i++) a[i * n + i] = T.CreateTruncating(2 * scale * rowSums[i]);
    }

    /// <summary>Turns g = dLoss/dK for the Gram matrix K = x x^T (in place) into W = g + g^T, so dLoss/dx = W x.</summary>
    internal static void GramWeights<T>(Span<T> g, int n) where T : IFloatingPointIeee754<T>
    {
        for (var i = 0; i < n; i++)
        {
            var row = i * n;
            g[row + i] += g[row + i];
            for (var j = i + 1; j < n; j++)
            {
                var s = g[row + j] + g[j * n + i];
                g[row + j] = s;
                g[j * n + i] = s;
            }
        }
    }
}
