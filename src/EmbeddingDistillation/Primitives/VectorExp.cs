using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EmbeddingDistillation.Primitives;

/// <summary>
/// exp of eight floats at once, bit for bit what <see cref="MathF.Exp"/> returns on Linux x64 (glibc's expf, whose
/// FMA variant every x64 CPU with AVX2 runs), so a loss that switches to it keeps its values and every training run
/// its bits. .NET's own <c>Vector256.Exp</c> is neither (it differs from MathF.Exp in about half of all inputs) nor
/// faster on this path.
/// </summary>
/// <remarks>
/// The algorithm is the one glibc (from Arm's optimized-routines) uses for |x| &lt; 88: x N / ln 2 = k + r with
/// N = 32, round to nearest by adding 1.5 * 2^52, exp(x) = 2^(k/N) 2^(r/N) with 2^(i/N) from a 32-entry table and
/// 2^(r/N) - 1 a cubic, all in double, rounded once to float. Lanes with |x| &gt;= 88, infinities or NaN (overflow,
/// underflow and special cases) go to <see cref="MathF.Exp"/> one by one. Equal to MathF.Exp on all 2,237,661,184
/// floats of (-88, 88) in a one-off exhaustive check (2026-12-02), and on every 7th of them in <c>VectorExpTests</c>;
/// elsewhere (Windows' or musl's expf) the two may differ in the last bit, and both stay within about half an ulp of exp.
/// </remarks>
internal static class VectorExp
{
    /// <summary>True where <see cref="Exp"/> runs vectorised (AVX2 and FMA); callers fall back to MathF.Exp otherwise.</summary>
    internal static bool IsAccelerated => Avx2.IsSupported && Fma.IsSupported;

    private const int TableBits = 5;

    // Bit patterns of the double constants (C# has no hexadecimal floating-point literals).
    private static readonly double InverseLn2Scaled = BitConverter.Int64BitsToDouble(0x40471547652B82FE); // 32 / ln 2
    private static readonly double Shift = BitConverter.Int64BitsToDouble(0x4338000000000000); // 1.5 * 2^52
    private static readonly double C0 = BitConverter.Int64BitsToDouble(0x3EBC6AF84B912394);
    private static readonly double C1 = BitConverter.Int64BitsToDouble(0x3F2EBFCE50FAC4F3);
    private static readonly double C2 = BitConverter.Int64BitsToDouble(0x3F962E42FF0C52D6);

    /// <summary>Table[i] = bits(2^(i/32)) - (i &lt;&lt; 47), so bits(2^(k/32)) = Table[k % 32] + (k &lt;&lt; 47) for any integer k.</summary>
    private static readonly ulong[] Table = Enumerable.Range(0, 1 << TableBits)
        .Select(i => (ulong)BitConverter.DoubleToInt64Bits(Math.Pow(2, i / 32.0)) - ((ulong)i << (52 - TableBits)))
        .ToArray();

    /// <summary>exp of each lane (requires <see cref="IsAccelerated"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> Exp(Vector256<float> x)
    {
        if (!Vector256.LessThanAll(Vector256.Abs(x), Vector256.Create(88f))) return Scalar(x);
        var low = Core(Avx.ConvertToVector256Double(x.GetLower()));
        var high = Core(Avx.ConvertToVector256Double(x.GetUpper()));
        return Vector256.Create(Avx.ConvertToVector128Single(low), Avx.ConvertToVector128Single(high));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<double> Core(Vector256<double> x)
    {
        var scale = Vector256.Create(InverseLn2Scaled);
        var shift = Vector256.Create(Shift);
        // k = round(x N / ln 2) in the low bits of kd (glibc's FMA build fuses the product into both sums).
        var kd = Fma.MultiplyAdd(x, scale, shift);
        var k = kd.AsUInt64();
        kd -= shift;
        var r = Fma.MultiplyAdd(x, scale, -kd);
        var t = Table;
        var s = (Vector256.Create(t[(int)(k.GetElement(0) & 31)], t[(int)(k.GetElement(1) & 31)], t[(int)(k.GetElement(2) & 31)],
            t[(int)(k.GetElement(3) & 31)]) + (k << (52 - TableBits))).AsDouble();
        var z = Fma.MultiplyAdd(Vector256.Create(C0), r, Vector256.Create(C1));
        var y = Fma.MultiplyAdd(Vector256.Create(C2), r, Vector256.Create(1.0));
        y = Fma.MultiplyAdd(z, r * r, y);
        return y * s;
    }

    private static Vector256<float> Scalar(Vector256<float> x)
    {
        Span<float> lanes = stackalloc float[Vector256<float>.Count];
        x.CopyTo(lanes);
        foreach (ref var v in lanes) v = MathF.Exp(v);
        return Vector256.Create<float>(lanes);
    }
}
