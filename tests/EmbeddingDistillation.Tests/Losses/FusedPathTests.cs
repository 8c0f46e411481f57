using EmbeddingDistillation.Losses;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Tests.Losses;

/// <summary>
/// The fused CPU paths of the pairwise losses against their torch forms (forced with <c>TorchPath</c>): same value
/// and same gradient on random batches with duplicate rows, ties and one-class batches, in float32 and float64.
/// </summary>
public class FusedPathTests
{
    public static IEnumerable<object[]> Cases()
    {
        foreach (var dtype in new[] { ScalarType.Float64, ScalarType.Float32 })
            foreach (var n in new[] { 8, 29, 64, 200 }) // 200: the parallel row blocks
                foreach (var kind in new[] { "random", "duplicates", "one-class" })
                    yield return new object[] { dtype, n, kind };
    }

    /// <summary>A batch [n, 6] (L2-normalised, as in training) with its labels and teacher batch [n, 9].</summary>
    private static (Tensor X, Tensor Labels, Tensor Teacher) Batch(ScalarType dtype, int n, string kind, int seed)
    {
        torch.manual_seed(seed);
        var x = nn.functional.normalize(torch.randn(n, 6, dtype: ScalarType.Float64), dim: 1);
        var t = nn.functional.normalize(torch.randn(n, 9, dtype: ScalarType.Float64), dim: 1);
        var labels = torch.arange(n, dtype: ScalarType.Int64).div(4, RoundingMode.floor);
        if (kind == "duplicates")
        {
            // Identical rows (distance clamped) and repeated distances (ties in the mining).
            x[1] = x[0]; x[2] = x[0]; x[5] = x[4]; x[n - 1] = x[3];
            t[1] = t[0]; t[n - 2] = t[3];
        }
        if (kind == "one-class") labels = torch.zeros(n, dtype: ScalarType.Int64);
        return (x.to_type(dtype), labels, t.to_type(dtype));
    }

    private static void AssertClose(Tensor fused, Tensor torchForm, double tol, string what)
    {
        var f = fused.to_type(ScalarType.Float64);
        var r = torchForm.to_type(ScalarType.Float64);
        Assert.True(torch.isfinite(f).all().item<bool>(), $"{what}: fused path is not finite");
        var scale = Math.Max(r.abs().max().item<double>(), 1e-12);
        var err = (f - r).abs().max().item<double>() / scale;
        Assert.True(err <= tol, $"{what}: fused and torch forms differ by {err:E2} (relative to max {scale:E2})");
    }

    private static void Compare(Func<Tensor, Tensor> fused, Func<Tensor, Tensor> torchForm, Tensor x0, double tol)
    {
        using var scope = torch.NewDisposeScope();
        var a = x0.clone().requires_grad_(true);
        var la = fused(a);
        la.backward();
        var b = x0.clone().requires_grad_(true);
        var lb = torchForm(b);
        lb.backward();
        AssertClose(la, lb, tol, "loss");
        AssertClose(a.grad!, b.grad!, tol, "gradient");
        // Without gradient (evaluation) the fused path gives the same value.
        using (torch.no_grad()) AssertClose(fused(x0), lb.detach(), tol, "loss without gradient");
    }

    // float32 with duplicate rows: the pair of identical rows has d^2 = round-off (~1e-7, above the clamp), so its
    // weight 1/(2d) is ~1e3 and the Gram-form backward rowsum(S) x_i - S x_j cancels it only to ~1e3 * 1e-7 in both
    // forms (the same ill-conditioning PairwiseDistancesTests documents); elsewhere they agree to float rounding.
    private static double Tolerance(ScalarType dtype, string kind) =>
        dtype == ScalarType.Float64 ? 1e-9 : kind == "duplicates" ? 2e-3 : 2e-4;

    [Theory]
    [MemberData(nameof(Cases))]
    public void RelativeTeacher(ScalarType dtype, int n, string kind)
    {
        using var scope = torch.NewDisposeScope();
        var (x, _, t) = Batch(dtype, n, kind, n);
        foreach (var reduction in new[] { RelativeReduction.Frobenius, RelativeReduction.MeanAbsolute, RelativeReduction.MeanSquared })
        {
            var options = new RelativeTeacherLossOptions { Reduction = reduction };
            var fused = new RelativeTeacherLoss(options);
            var plain = new RelativeTeacherLoss(options) { TorchPath = true };
            Compare(s => fused.forward(s, t), s => plain.forward(s, t), x, Tolerance(dtype, kind));
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void TripletBatchHard(ScalarType dtype, int n, string kind)
    {
        using var scope = torch.NewDisposeScope();
        var (x, y, _) = Batch(dtype, n, kind, 100 + n);
        foreach (var margin in new[] { 0.0, 0.2, 5.0 })
        {
            var fused = new TripletLoss(margin);
            var plain = new TripletLoss(margin) { TorchPath = true };
            Compare(s => fused.forward(s, y), s => plain.forward(s, y), x, Tolerance(dtype, kind));
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void RkdDistance(ScalarType dtype, int n, string kind)
    {
        using var scope = torch.NewDisposeScope();
        var (x, _, t) = Batch(dtype, n, kind, 200 + n);
        var fused = new RkdDistanceLoss();
        var plain = new RkdDistanceLoss { TorchPath = true };
        Compare(s => fused.forward(s, t), s => plain.forward(s, t), x, Tolerance(dtype, kind));
        // Scaled student: |z| > 1 on many pairs (the linear part of the Huber loss).
        Compare(s => fused.forward(s, t * 0.1 + t.pow(3)), s => plain.forward(s, t * 0.1 + t.pow(3)), x, Tolerance(dtype, kind));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Contrastive(ScalarType dtype, int n, string kind)
    {
        using var scope = torch.NewDisposeScope();
        var (x, y, _) = Batch(dtype, n, kind, 300 + n);
        foreach (var (mp, mn) in new[] { (0.0, 1.0), (0.3, 1.2) })
        {
            var fused = new ContrastiveLoss(new ContrastiveLossOptions { PositiveMargin = mp, NegativeMargin = mn });
            var plain = new ContrastiveLoss(new ContrastiveLossOptions { PositiveMargin = mp, NegativeMargin = mn }) { TorchPath = true };
            Compare(s => fused.forward(s, y), s => plain.forward(s, y), x, Tolerance(dtype, kind));
        }
    }

    /// <summary>
    /// From N = 192 the C# passes run in parallel row blocks, which finish in any order: the loss and its gradient must
    /// not depend on it (every block's partial result is combined in row order). Ten repetitions, bit for bit. (With two
    /// blocks, on a 2-core machine, any order gives the same sum; RKD distance's old in-completion-order sum could differ
    /// from three cores up.)
    /// </summary>
    [Theory]
    [InlineData("relative")]
    [InlineData("rkd-distance")]
    [InlineData("triplet-hard")]
    [InlineData("contrastive")]
    [InlineData("multi-similarity")]
    public void ParallelRowBlocksAreDeterministic(string name)
    {
        using var scope = torch.NewDisposeScope();
        var (x, y, t) = Batch(ScalarType.Float32, 400, "random", 500);
        nn.Module<Tensor, Tensor, Tensor> loss = name switch
        {
            "relative" => new RelativeTeacherLoss(),
            "rkd-distance" => new RkdDistanceLoss(),
            "triplet-hard" => new TripletLoss(0.2),
            "contrastive" => new ContrastiveLoss(new ContrastiveLossOptions()),
            _ => new MultiSimilarityLoss(new MultiSimilarityLossOptions()),
        };
        var second = name is "relative" or "rkd-distance" ? t : y;
        (float Loss, float[] Grad) Run()
        {
            using var inner = torch.NewDisposeScope();
            var a = x.clone().requires_grad_(true);
            var l = loss.forward(a, second);
            l.backward();
            return (l.item<float>(), a.grad!.data<float>().ToArray());
        }
        var first = Run();
        for (var r = 0; r < 10; r++)
        {
            var again = Run();
            Assert.Equal(first.Loss, again.Loss);
            Assert.Equal(first.Grad, again.Grad);
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MultiSimilarity(ScalarType dtype, int n, string kind)
    {
        using var scope = torch.NewDisposeScope();
        var (x, y, _) = Batch(dtype, n, kind, 400 + n);
        foreach (var options in new[] { new MultiSimilarityLossOptions(), new MultiSimilarityLossOptions { Alpha = 2, Beta = 40, Lambda = 0.5, Epsilon = 0.1 } })
        {
            var fused = new MultiSimilarityLoss(options);
            var plain = new MultiSimilarityLoss(options) { TorchPath = true };
            // beta = 40-50 multiplies the float32 round-off of S by up to ~50 inside exp.
            Compare(s => fused.forward(s, y), s => plain.forward(s, y), x, dtype == ScalarType.Float64 ? 1e-9 : 2e-3);
        }
    }
}
