using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Tests.Losses;

/// <summary>Central finite differences (float64) against the analytic gradient of every loss.</summary>
public class GradientCheckTests
{
    private static void Check(Func<Tensor, Tensor> f, Tensor x0, string what)
    {
        using var scope = torch.NewDisposeScope();
        var x = x0.clone().requires_grad_(true);
        f(x).backward();
        var analytic = x.grad!.clone();
        var numeric = torch.zeros_like(x0);
        const double h = 1e-6;
        using (torch.no_grad())
        {
            var flat = x0.clone().view(-1);
            for (long i = 0; i < flat.shape[0]; i++)
            {
                var orig = flat[i].item<double>();
                flat[i] = orig + h;
                var up = f(flat.view(x0.shape)).item<double>();
                flat[i] = orig - h;
                var down = f(flat.view(x0.shape)).item<double>();
                flat[i] = orig;
                numeric.view(-1)[i] = (up - down) / (2 * h);
            }
        }
        var scale = Math.Max(numeric.abs().max().item<double>(), 1e-8);
        var err = (analytic - numeric).abs().max().item<double>();
        Assert.True(err <= 1e-5 * scale + 1e-9, $"{what}: max |analytic - numeric| = {err:E3} (gradient scale {scale:E3})");
        Assert.True(analytic.abs().sum().item<double>() > 0, $"{what}: the gradient is identically zero, the check would be vacuous");
    }

    [Theory]
    [MemberData(nameof(LossCatalog.DistillationNames), MemberType = typeof(LossCatalog))]
    public void DistillationGradientMatchesFiniteDifferences(string name)
    {
        torch.manual_seed(3);
        using var loss = LossCatalog.Create(name, 3, ScalarType.Float64);
        var s = torch.randn(6, 3, dtype: ScalarType.Float64);
        var t = torch.randn(6, LossCatalog.TeacherDim(name, 3), dtype: ScalarType.Float64);
        Check(x => loss.forward(x, t), s, name);
    }

    [Theory]
    [MemberData(nameof(LossCatalog.MapNames), MemberType = typeof(LossCatalog))]
    public void MapGradientMatchesFiniteDifferences(string name)
    {
        torch.manual_seed(4);
        using var loss = LossCatalog.Create(name, 0, ScalarType.Float64);
        // Different spatial sizes so the bilinear resize is inside the check.
        var s = torch.randn(2, 3, 3, 2, dtype: ScalarType.Float64);
        var t = torch.randn(2, 5, 4, 3, dtype: ScalarType.Float64);
        Check(x => loss.forward(x, t), s, name);
    }

    [Theory]
    [MemberData(nameof(LossCatalog.MetricNames), MemberType = typeof(LossCatalog))]
    public void MetricGradientMatchesFiniteDifferences(string name)
    {
        torch.manual_seed(5);
        using var loss = LossCatalog.Create(name, 3, ScalarType.Float64);
        var x = torch.randn(8, 3, dtype: ScalarType.Float64);
        if (name == "multi-similarity") x = nn.functional.normalize(x, p: 2, dim: 1);
        var y = torch.tensor(new long[] { 0, 1, 2, 3, 0, 1, 2, 3 });
        Check(e => loss.forward(e, y), x, name);
    }
}
