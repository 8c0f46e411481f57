using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
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

    /// <summary>
    /// True when every diagonal entry of the N x N Gram or squared-distance matrix <paramref name="m"/> is finite. A
    /// row of x holding NaN or an infinity (or so large that |x_i|^2 overflows) makes its diagonal entry, x_i.x_i or
    /// |x_i|^2 + |x_i|^2 - 2 x_i.x_i, NaN or infinite, so N reads find what a pass over the whole input would.
    /// </summary>
    internal static bool FiniteDiagonal(Tensor m, int n) => m.dtype == ScalarType.Float32
        ? FiniteDiagonal(Elements<float>(m), n)
        : FiniteDiagonal(Elements<double>(m), n);

    private static bool FiniteDiagonal<T>(Span<T> m, int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (var i = 0; i < n; i++)
            if (!T.IsFinite(m[i * n + i])) return false;
        return true;
    }

    /// <summary>
    /// The loss of a batch with a non-finite input: NaN, and with <paramref name="weights"/> a NaN gradient too (the
    /// loss never hides a broken network behind a finite number; the trainer stops on it).
    /// </summary>
    internal static Tensor NonFiniteLoss(Tensor x, Tensor? weights)
    {
        weights?.fill_(double.NaN);
        return Finish(x, double.NaN, weights);
    }

    /// <summary>The diagonal of the N x N matrix <paramref name="m"/> (for a Gram matrix: the squared norms).</summary>
    internal static T[] Diagonal<T>(Tensor m, int n) where T : unmanaged
    {
        var e = Elements<T>(m);
        var d = new T[n];
        for (var i = 0; i < n; i++) d[i] = e[i * n + i];
        return d;
    }

    /// <summary>
    /// One row of squared distances from the Gram matrix: d2_j = (g_ii + g_jj) - 2 g_ij, so d2_ii = 0 exactly and,
    /// the Gram matrix being symmetric, the matrix is too. (The torch form adds norms computed apart from the Gram
    /// matrix; the two differ in the last bits.)
    /// </summary>
    internal static void GramRowSquaredDistances<T>(ReadOnlySpan<T> gramRow, ReadOnlySpan<T> squaredNorms, T gii, Span<T> d2)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var j = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var vi = new Vector<T>(gii);
            var two = new Vector<T>(T.CreateTruncating(2.0));
            for (; j <= d2.Length - Vector<T>.Count; j += Vector<T>.Count)
                ((vi + new Vector<T>(squaredNorms[j..])) - two * new Vector<T>(gramRow[j..])).CopyTo(d2[j..]);
        }
        var twoT = T.CreateTruncating(2.0);
        for (; j < d2.Length; j++) d2[j] = (gii + squaredNorms[j]) - twoT * gramRow[j];
    }

    /// <summary>
    /// Row i of the distances from the Gram matrix (<see cref="GramRowSquaredDistances{T}"/> into
    /// <paramref name="d2"/>, then <see cref="RowDistances{T}"/>), with dd/d(d^2) if <paramref name="halfInverse"/> is
    /// not empty.
    /// </summary>
    internal static void GramRowDistances<T>(Span<T> gram, T[] squaredNorms, int i, Span<T> d2, Span<T> d, Span<T> halfInverse, T clamp)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var n = squaredNorms.Length;
        GramRowSquaredDistances<T>(gram.Slice(i * n, n), squaredNorms, squaredNorms[i], d2);
        RowDistances<T>(d2, d, halfInverse, clamp);
    }

    /// <summary>
    /// Per sample, the indices of every sample with its label (itself included), ascending; the samples of one class
    /// share one array. Lets a row pass visit an anchor's few positives directly instead of testing every label.
    /// </summary>
    internal static int[][] ClassMembers(long[] y)
    {
        var byLabel = new Dictionary<long, List<int>>();
        for (var i = 0; i < y.Length; i++)
        {
            if (!byLabel.TryGetValue(y[i], out var list)) byLabel[y[i]] = list = [];
            list.Add(i);
        }
        var arrays = byLabel.ToDictionary(p => p.Key, p => p.Value.ToArray());
        var members = new int[y.Length][];
        for (var i = 0; i < y.Length; i++) members[i] = arrays[y[i]];
        return members;
    }

    /// <summary>The maximum of a NaN-free row (-inf when empty), vectorised (max is exact, so any order gives the same value).</summary>
    internal static T Maximum<T>(ReadOnlySpan<T> row) where T : unmanaged, IFloatingPointIeee754<T> => Extreme(row, maximum: true);

    /// <summary>The minimum (+inf when empty) or maximum (-inf when empty) of a NaN-free row, vectorised.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] // so that each caller's constant `maximum` removes the branch
    private static T Extreme<T>(ReadOnlySpan<T> row, bool maximum) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var extreme = maximum ? T.NegativeInfinity : T.PositiveInfinity;
        var j = 0;
        var width = Vector<T>.Count;
        if (Vector.IsHardwareAccelerated && row.Length >= width)
        {
            var acc = new Vector<T>(row);
            for (j = width; j <= row.Length - width; j += width)
                acc = maximum ? Vector.Max(acc, new Vector<T>(row[j..])) : Vector.Min(acc, new Vector<T>(row[j..]));
            for (var k = 0; k < width; k++) extreme = maximum ? T.Max(extreme, acc[k]) : T.Min(extreme, acc[k]);
        }
        for (; j < row.Length; j++) extreme = maximum ? T.Max(extreme, row[j]) : T.Min(extreme, row[j]);
        return extreme;
    }

    /// <summary>
    /// The minimum of a non-empty, NaN-free row, the first index holding it and how many entries equal it (exactly what
    /// a scalar scan keeping the first strict minimum and counting ties gives), vectorised.
    /// </summary>
    internal static (T Min, int Index, int Count) MinimumWithTies<T>(ReadOnlySpan<T> row) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var min = Extreme(row, maximum: false);
        // Ties are rare: scan lanes only in vectors that hold the minimum.
        int index = -1, count = 0;
        var j = 0;
        var width = Vector<T>.Count;
        if (Vector.IsHardwareAccelerated)
        {
            var vm = new Vector<T>(min);
            for (; j <= row.Length - width; j += width)
            {
                if (!Vector.EqualsAny(new Vector<T>(row[j..]), vm)) continue;
                for (var k = j; k < j + width; k++)
                    if (row[k] == min) { if (count++ == 0) index = k; }
            }
        }
        for (; j < row.Length; j++)
            if (row[j] == min) { if (count++ == 0) index = j; }
        return (min, index, count);
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
    /// <param name="x">The embeddings the gradient is for.</param>
    /// <param name="loss">The loss value.</param>
    /// <param name="weights">W, or null when no gradient is recorded.</param>
    /// <param name="weightScale">A factor applied to W in the backward (known only after the pass that wrote W).</param>
    internal static Tensor Finish(Tensor x, double loss, Tensor? weights, double weightScale = 1)
    {
        var value = torch.tensor(loss, dtype: x.dtype, device: x.device);
        if (weights is null) return value;
        return PrecomputedGradientFunction.apply(x, new PrecomputedGradientFunction.Payload(value, weights, weightScale));
    }

    /// <summary>1 / (2 d) where the clamp of d^2 is inactive (d2 &gt;= clamp), else 0: dd/d(d^2), as autograd gives it.</summary>
    internal static T HalfInverse<T>(T d2, T d, T clamp) where T : IFloatingPointIeee754<T> =>
        d2 >= clamp ? T.CreateTruncating(0.5) / d : T.Zero;

    /// <summary>sqrt(clamp_min(d2, clamp)) in T, bit-identical to the torch form (both correctly rounded).</summary>
    internal static T Distance<T>(T d2, T clamp) where T : IFloatingPointIeee754<T> => T.Sqrt(T.IsNaN(d2) ? d2 : T.Max(d2, clamp));

    /// <summary>
    /// One row of distances d = sqrt(clamp_min(d2, clamp)) and, if <paramref name="halfInverse"/> is not empty, of
    /// dd/d(d^2) = 1 / (2 d) where the clamp is inactive (0 where it holds), vectorised.
    /// </summary>
    internal static void RowDistances<T>(ReadOnlySpan<T> d2, Span<T> d, Span<T> halfInverse, T clamp)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var j = 0;
        var withInverse = !halfInverse.IsEmpty;
        if (Vector.IsHardwareAccelerated)
        {
            var vc = new Vector<T>(clamp);
            var half = new Vector<T>(T.CreateTruncating(0.5));
            for (; j <= d2.Length - Vector<T>.Count; j += Vector<T>.Count)
            {
                var v = new Vector<T>(d2[j..]);
                var dv = Vector.SquareRoot(Vector.Max(v, vc));
                dv.CopyTo(d[j..]);
                if (withInverse)
                    Vector.ConditionalSelect(Vector.GreaterThanOrEqual(v, vc), half / dv, Vector<T>.Zero).CopyTo(halfInverse[j..]);
            }
        }
        for (; j < d2.Length; j++)
        {
            d[j] = Distance(d2[j], clamp);
            if (withInverse) halfInverse[j] = HalfInverse(d2[j], d[j], clamp);
        }
    }

    /// <summary>
    /// Runs <paramref name="rows"/>(start, end) over row blocks, in parallel for large N (one block per core), and
    /// returns the sum of the blocks' results in block order (deterministic).
    /// </summary>
    /// <param name="n">The number of rows.</param>
    /// <param name="rows">Processes rows [start, end) (or, interleaved, the single row start) and returns a partial result.</param>
    /// <param name="interleaved">Hand out single rows round-robin (for triangular work) instead of contiguous blocks; rows are then tiles of 32, so the parallel threshold is 6.</param>
    internal static double ForRows(int n, Func<int, int, double> rows, bool interleaved = false) =>
        ForRows(n, (start, end) => (rows(start, end), 0.0), interleaved).First;

    /// <summary>
    /// <see cref="ForRows(int, Func{int, int, double}, bool)"/> for passes that accumulate two sums at once, each added
    /// over the blocks in block order.
    /// </summary>
    internal static (double First, double Second) ForRows(int n, Func<int, int, (double First, double Second)> rows, bool interleaved = false)
    {
        var blocks = n >= (interleaved ? 6 : 192) ? Math.Min(Environment.ProcessorCount, 8) : 1;
        if (blocks <= 1)
        {
            if (!interleaved) return rows(0, n);
            double first = 0, second = 0;
            for (var r = 0; r < n; r++) Add(ref first, ref second, rows(r, r + 1));
            return (first, second);
        }
        var partial = new (double First, double Second)[blocks];
        Parallel.For(0, blocks, b =>
        {
            if (!interleaved) { partial[b] = rows(b * n / blocks, (b + 1) * n / blocks); return; }
            for (var r = b; r < n; r += blocks) Add(ref partial[b].First, ref partial[b].Second, rows(r, r + 1));
        });
        double totalFirst = 0, totalSecond = 0;
        foreach (var p in partial) Add(ref totalFirst, ref totalSecond, p);
        return (totalFirst, totalSecond);

        static void Add(ref double first, ref double second, (double First, double Second) value)
        {
            first += value.First;
            second += value.Second;
        }
    }

    /// <summary>
    /// Row i of W for a symmetric a = dLoss/d(d^2) (in place, while the row is in cache): with S = a + a^T = 2a and
    /// d(d^2_ij)/dx_i = 2 (x_i - x_j), W = 2 (diag(rowsum S) - S), so W_ij = -4 a_ij off the diagonal and W_ii = -sum_{j != i} W_ij.
    /// The relative teacher's, RKD distance's and contrastive's derivatives are symmetric, so none of them needs a
    /// transposing pass over W (batch-hard triplet writes its few pairs with <see cref="AddPair{T}"/>); a_ii is ignored.
    /// </summary>
    internal static void SymmetricDistanceWeightsRow<T>(Span<T> row, int i) where T : unmanaged, IFloatingPointIeee754<T>
    {
        row[i] = T.Zero;
        var minusFour = T.CreateTruncating(-4.0);
        var sum = T.Zero;
        var j = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var acc = Vector<T>.Zero;
            var vm = new Vector<T>(minusFour);
            for (; j <= row.Length - Vector<T>.Count; j += Vector<T>.Count)
            {
                var w = vm * new Vector<T>(row[j..]);
                w.CopyTo(row[j..]);
                acc += w;
            }
            sum = Vector.Sum(acc);
        }
        for (; j < row.Length; j++)
        {
            row[j] = minusFour * row[j];
            sum += row[j];
        }
        row[i] = -sum;
    }

    /// <summary>Adds coefficient c of dLoss/d(d^2_ij) for one pair to W (dLoss/dx = W x), for sparse gradients.</summary>
    internal static void AddPair<T>(Span<T> w, int n, int i, int j, T c) where T : IFloatingPointIeee754<T>
    {
        var twoC = c + c;
        w[i * n + i] += twoC;
        w[j * n + j] += twoC;
        w[i * n + j] -= twoC;
        w[j * n + i] -= twoC;
    }

    /// <summary>
    /// Turns g = dLoss/dK for the Gram matrix K = x x^T (in place) into W = g + g^T, so dLoss/dx = W x. float32 with
    /// AVX works on 8 x 8 blocks (<see cref="GramWeightsBlocks"/>); otherwise each unordered pair belongs to one 32 x 32
    /// tile of the upper triangle, so tile rows run in parallel without conflicts, and a tile's transposed reads stay
    /// in cache (a plain row loop reads a column per row). Both compute w_ij = g_ij + g_ji, so they agree bit for bit.
    /// </summary>
    internal static void GramWeights<T>(Tensor g, int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var done = 0;
        if (typeof(T) == typeof(float) && Avx.IsSupported)
        {
            done = n - n % 8;
            GramWeightsBlocks(g, done, n);
            if (done == n) return;
        }
        const int tile = 32;
        var tiles = (n + tile - 1) / tile;
        // Tile rows near the top hold more tiles: they are handed out round-robin so parallel blocks get similar work.
        ForRows(tiles, (t, _) =>
        {
            var a = Elements<T>(g);
            var ib = t * tile;
            var iEnd = Math.Min(ib + tile, n);
            for (var jb = ib; jb < n; jb += tile)
            {
                var jEnd = Math.Min(jb + tile, n);
                for (var i = ib; i < iEnd; i++)
                {
                    var row = i * n;
                    // Pairs with both indices below `done` were summed by the blocks already.
                    for (var j = Math.Max(jb, i < done ? Math.Max(i, done) : i); j < jEnd; j++)
                    {
                        var w = a[row + j] + a[j * n + i];
                        a[row + j] = w;
                        a[j * n + i] = w;
                    }
                }
            }
            return 0;
        }, interleaved: true);
    }

    /// <summary>
    /// W = g + g^T over the leading m x m corner of the n x n float32 matrix g (m a multiple of 8), in 8 x 8 blocks:
    /// block (I, J) of the upper triangle and the transpose of block (J, I) are added in registers and the sum is
    /// stored at (I, J) and, transposed, at (J, I). Block rows run in parallel, round-robin, from 256 rows on.
    /// </summary>
    private static void GramWeightsBlocks(Tensor g, int m, int n)
    {
        void BlockRow(int b)
        {
            var a = Elements<float>(g);
            var i = b * 8;
            for (var j = i; j < m; j += 8)
            {
                var upper = LoadBlock(a, n, i, j);
                var lower = LoadBlock(a, n, j, i);
                Transpose(ref lower);
                for (var r = 0; r < 8; r++) upper[r] += lower[r];
                StoreBlock(upper, a, n, i, j);
                if (j == i) continue;
                Transpose(ref upper);
                StoreBlock(upper, a, n, j, i);
            }
        }
        // Below 256 rows the pass takes microseconds, less than handing it to a second thread.
        if (m < 256)
        {
            for (var b = 0; b < m / 8; b++) BlockRow(b);
            return;
        }
        ForRows(m / 8, (b, _) =>
        {
            BlockRow(b);
            return 0;
        }, interleaved: true);
    }

    /// <summary>Eight rows of eight floats, on the stack.</summary>
    [InlineArray(8)]
    private struct Block
    {
        private Vector256<float> _row;
    }

    private static Block LoadBlock(Span<float> a, int n, int row, int column)
    {
        var block = new Block();
        for (var r = 0; r < 8; r++) block[r] = Vector256.Create<float>(a.Slice((row + r) * n + column, 8));
        return block;
    }

    private static void StoreBlock(in Block block, Span<float> a, int n, int row, int column)
    {
        for (var r = 0; r < 8; r++) block[r].CopyTo(a.Slice((row + r) * n + column, 8));
    }

    /// <summary>In-place transpose of an 8 x 8 float block held as eight rows (unpack, shuffle, then swap 128-bit halves).</summary>
    private static void Transpose(ref Block r)
    {
        var t0 = Avx.UnpackLow(r[0], r[1]); var t1 = Avx.UnpackHigh(r[0], r[1]);
        var t2 = Avx.UnpackLow(r[2], r[3]); var t3 = Avx.UnpackHigh(r[2], r[3]);
        var t4 = Avx.UnpackLow(r[4], r[5]); var t5 = Avx.UnpackHigh(r[4], r[5]);
        var t6 = Avx.UnpackLow(r[6], r[7]); var t7 = Avx.UnpackHigh(r[6], r[7]);
        var u0 = Avx.Shuffle(t0, t2, 0x44); var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44); var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44); var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44); var u7 = Avx.Shuffle(t5, t7, 0xEE);
        r[0] = Avx.Permute2x128(u0, u4, 0x20); r[1] = Avx.Permute2x128(u1, u5, 0x20);
        r[2] = Avx.Permute2x128(u2, u6, 0x20); r[3] = Avx.Permute2x128(u3, u7, 0x20);
        r[4] = Avx.Permute2x128(u0, u4, 0x31); r[5] = Avx.Permute2x128(u1, u5, 0x31);
        r[6] = Avx.Permute2x128(u2, u6, 0x31); r[7] = Avx.Permute2x128(u3, u7, 0x31);
    }
}
