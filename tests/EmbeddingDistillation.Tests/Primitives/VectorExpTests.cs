using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using EmbeddingDistillation.Primitives;

namespace EmbeddingDistillation.Tests.Primitives;

/// <summary>
/// <see cref="VectorExp"/>, the vectorised exp of multi-similarity's fused path: MathF.Exp's bits where the runtime's
/// expf is glibc's (Linux x64, the CI machines), within an ulp of exp everywhere, and MathF.Exp's answer for the
/// special cases it hands back (overflow, underflow, infinities, NaN).
/// </summary>
public class VectorExpTests
{
    private static float[] Exp(float[] x)
    {
        var y = new float[x.Length];
        for (var i = 0; i < x.Length; i += 8)
        {
            var lanes = new float[8];
            Array.Copy(x, i, lanes, 0, Math.Min(8, x.Length - i));
            var e = VectorExp.Exp(Vector256.Create<float>(lanes));
            for (var k = 0; k < 8 && i + k < x.Length; k++) y[i + k] = e.GetElement(k);
        }
        return y;
    }

    /// <summary>Every 7th float of (-88, 88), about 320 million, against MathF.Exp bit for bit.</summary>
    [VectorExpGlibcFact]
    public void MatchesMathFExpBitForBitOnGlibc()
    {
        var limit = BitConverter.SingleToUInt32Bits(88f);
        var offsets = Vector256.Create(0u, 7, 14, 21, 28, 35, 42, 49);
        long checkedCount = 0;
        foreach (var sign in new uint[] { 0, 0x8000_0000 })
            for (uint b = 0; b < limit; b += 56)
            {
                var x = (Vector256.Create(b) + offsets | Vector256.Create(sign)).AsSingle();
                var e = VectorExp.Exp(x);
                for (var k = 0; k < 8; k++)
                {
                    var want = MathF.Exp(x.GetElement(k));
                    if (BitConverter.SingleToInt32Bits(want) != BitConverter.SingleToInt32Bits(e.GetElement(k)))
                        Assert.Fail($"exp({x.GetElement(k):R}): MathF.Exp {want:R}, VectorExp {e.GetElement(k):R}");
                    checkedCount++;
                }
            }
        Assert.True(checkedCount > 300_000_000, $"only {checkedCount} values checked");
    }

    [VectorExpFact]
    public void IsWithinAnUlpOfExpOverTheWholeRange()
    {
        var random = new Random(7);
        var x = Enumerable.Range(0, 200_000).Select(_ => (float)(random.NextDouble() * 200 - 110)).ToArray();
        var y = Exp(x);
        for (var i = 0; i < x.Length; i++)
        {
            var exact = Math.Exp(x[i]);
            if (exact < float.Epsilon || exact > float.MaxValue) continue; // underflow and overflow: below
            var ulp = (double)MathF.BitIncrement((float)exact) - (float)exact;
            Assert.True(Math.Abs(y[i] - exact) <= ulp, $"exp({x[i]:R}) = {exact:R}, VectorExp {y[i]:R}");
        }
    }

    [VectorExpFact]
    public void SpecialCasesAreMathFExps()
    {
        float[] x = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0f, -0f, 88f, -88f, 88.72f, 88.73f, -103.9f, -104f,
            -200f, 1000f, float.Epsilon, -float.Epsilon, 87.99999f, -87.99999f];
        var y = Exp(x);
        for (var i = 0; i < x.Length; i++)
            Assert.True(y[i].Equals(MathF.Exp(x[i])), $"exp({x[i]:R}): MathF.Exp {MathF.Exp(x[i]):R}, VectorExp {y[i]:R}");
    }
}

/// <summary>Runs where <see cref="VectorExp"/> is vectorised (AVX2 and FMA); skipped with the reason elsewhere.</summary>
public sealed class VectorExpFactAttribute : FactAttribute
{
    public VectorExpFactAttribute()
    {
        if (!VectorExp.IsAccelerated) Skip = "VectorExp needs AVX2 and FMA; without them the fused loss uses MathF.Exp.";
    }
}

/// <summary><see cref="VectorExpFactAttribute"/>, and only on Linux x64, where MathF.Exp is glibc's expf.</summary>
public sealed class VectorExpGlibcFactAttribute : FactAttribute
{
    public VectorExpGlibcFactAttribute()
    {
        if (!VectorExp.IsAccelerated) Skip = "VectorExp needs AVX2 and FMA; without them the fused loss uses MathF.Exp.";
        else if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64)
            Skip = "MathF.Exp is glibc's expf only on Linux; other C libraries may round differently in the last bit.";
    }
}
