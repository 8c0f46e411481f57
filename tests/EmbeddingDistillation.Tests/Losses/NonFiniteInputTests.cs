using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Tests.Losses;

/// <summary>
/// NaN in, NaN out: a loss over non-finite input is never a finite number (a 0 lets a broken network train on
/// silently: batch-hard triplet over NaN embeddings used to drop every anchor and return 0).
/// </summary>
public class NonFiniteInputTests
{
    public static IEnumerable<object[]> Cases()
    {
        foreach (var name in LossCatalog.Distillation.Concat(LossCatalog.Maps).Concat(LossCatalog.Metric))
            foreach (var value in new[] { double.NaN, double.PositiveInfinity })
                foreach (var side in new[] { "first", "second" })
                    if (!(LossCatalog.Metric.Contains(name) && side == "second"))
                        yield return new object[] { name, value, side };
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void NonFiniteInputGivesNonFiniteLoss(string name, double value, string side)
    {
        using var scope = NewDisposeScope();
        foreach (var dtype in new[] { ScalarType.Float32, ScalarType.Float64 })
        {
            using var loss = LossCatalog.Create(name, 4, dtype);
            Tensor a, b;
            if (LossCatalog.Maps.Contains(name))
            {
                a = randn(new long[] { 6, 3, 4, 4 }, dtype: dtype);
                b = randn(new long[] { 6, 5, 4, 4 }, dtype: dtype);
            }
            else if (LossCatalog.Metric.Contains(name))
            {
                a = randn(new long[] { 8, 4 }, dtype: dtype);
                b = tensor(new long[] { 0, 0, 1, 1, 2, 2, 3, 3 });
            }
            else
            {
                a = randn(new long[] { 6, 4 }, dtype: dtype);
                b = randn(new long[] { 6, LossCatalog.TeacherDim(name, 4) }, dtype: dtype);
            }
            var target = side == "first" ? a : b;
            target.view(-1)[3] = tensor(value, dtype: dtype);
            var v = loss.forward(a, b);
            Assert.False(double.IsFinite(v.ToDouble()), $"{name} ({dtype}) returned {v.ToDouble()} for a {value} in the {side} input");
        }
    }
}
