using EmbeddingDistillation.Primitives;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Tests.Losses;

/// <summary>The shared distance kernel, including its hand-written backward, against plain autograd.</summary>
public class PairwiseDistancesTests
{
    private static Tensor AutogradEuclidean(Tensor x)
    {
        var sq = x.pow(2).sum(1, keepdim: true);
        return (sq + sq.t() - 2 * x.mm(x.t())).clamp_min(1e-12).sqrt();
    }

    [Theory]
    [InlineData(ScalarType.Float64, 1e-12)]
    [InlineData(ScalarType.Float32, 1e-3)] // float32: the diagonal sqrt(round-off) is ill-conditioned in both forms
    public void HandWrittenBackwardMatchesAutograd(ScalarType dtype, double tol)
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(11);
        var x0 = torch.randn(7, 5, dtype: dtype);
        // A duplicate row makes the clamp active on that pair (float64 only: in float32 the round-off of the two
        // Gram-form evaluations decides whether the clamp is active, an ill-conditioned comparison).
        if (dtype == ScalarType.Float64) x0[3] = x0[1];
        var upstream = torch.randn(7, 7, dtype: dtype);

        var a = x0.clone().requires_grad_(true);
        var da = PairwiseDistances.Euclidean(a);
        (da * upstream).sum().backward();

        var b = x0.clone().requires_grad_(true);
        var db = AutogradEuclidean(b);
        (db * upstream).sum().backward();

        Assert.True((da - db).abs().max().to_type(ScalarType.Float64).item<double>() < tol, "values differ");
        var err = ((a.grad! - b.grad!).abs().max() / b.grad!.abs().max()).to_type(ScalarType.Float64).item<double>();
        Assert.True(err < tol, $"gradients differ by {err:E2} (relative)");
        Assert.True(torch.isfinite(a.grad!).all().item<bool>());
    }

    [Fact]
    public void SecondOrderUseAndNoGradPathsAgree()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.randn(6, 3, dtype: ScalarType.Float64);
        Tensor plain;
        using (torch.no_grad()) plain = PairwiseDistances.Euclidean(x.requires_grad_(true));
        var tracked = PairwiseDistances.Euclidean(x);
        Assert.True((plain - tracked.detach()).abs().max().item<double>() < 1e-12);
        Assert.True(tracked.requires_grad);
    }

    [Fact]
    public void CosineAndSquaredAgreeWithDefinitions()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.randn(5, 4, dtype: ScalarType.Float64);
        var y = torch.randn(3, 4, dtype: ScalarType.Float64);
        var sq = (x.unsqueeze(1) - y.unsqueeze(0)).pow(2).sum(2);
        Assert.True((PairwiseDistances.SquaredEuclidean(x, y) - sq).abs().max().item<double>() < 1e-12);
        var cos = 1 - nn.functional.cosine_similarity(x.unsqueeze(1), y.unsqueeze(0), dim: 2);
        Assert.True((PairwiseDistances.Cosine(x, y) - cos).abs().max().item<double>() < 1e-12);
    }
}
