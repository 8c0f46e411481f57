using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.NoEmit;
using EmbeddingDistillation.Losses;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Benchmarks.Losses;

/// <summary>
/// A short in-process job: the machine is small and shared, and a process per case would cost more than the case.
/// LOSS_BENCH_SMOKE=1 makes it a single-iteration dry run (see benchmarks/run-smoke.sh).
/// </summary>
public sealed class LossBenchmarkConfig : ManualConfig
{
    /// <summary>Creates the config.</summary>
    public LossBenchmarkConfig()
    {
        var job = LossBenchmarks.Smoke
            ? Job.Dry.WithToolchain(InProcessNoEmitToolchain.Instance).WithId("smoke")
            : Job.Default.WithToolchain(InProcessNoEmitToolchain.Instance).WithLaunchCount(1).WithWarmupCount(2)
                .WithIterationCount(EnvInt("LOSS_BENCH_ITERATIONS", 5))
                .WithIterationTime(Perfolizer.Horology.TimeInterval.FromMilliseconds(EnvInt("LOSS_BENCH_ITERATION_MS", 120))).WithId("short");
        AddJob(job);
        // Min is the most robust statistic on a shared, overloaded machine; ratios in docs/benchmarks.md use it.
        AddColumn(BenchmarkDotNet.Columns.StatisticColumn.Min);
        WithOptions(ConfigOptions.DisableOptimizationsValidator);
    }

    private static int EnvInt(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), out var v) && v > 0 ? v : fallback;
}

/// <summary>
/// Forward + backward of every embedding loss (float32, CPU, libtorch's default thread count) against two
/// references per case: the physical floor (the Gram-matrix matmuls forward and backward that no implementation
/// of the loss can avoid) and a naive broadcasting implementation. The Ratio column is time / floor.
/// </summary>
[Config(typeof(LossBenchmarkConfig))]
public class LossBenchmarks
{
    /// <summary>Creates the benchmark (BenchmarkDotNet sets the parameters).</summary>
    public LossBenchmarks() { }

    internal static bool Smoke => Environment.GetEnvironmentVariable("LOSS_BENCH_SMOKE") == "1";

    private const int Classes = 100;
    private const int PerClass = 8;
    private nn.Module<Tensor, Tensor, Tensor> _loss = null!;
    private nn.Module<Tensor, Tensor, Tensor>? _torchLoss;
    private Tensor _s = null!, _t = null!, _y = null!, _proxies = null!;

    /// <summary>The loss under test.</summary>
    [ParamsSource(nameof(LossNames))]
    public virtual string Loss { get; set; } = "relative";

    /// <summary>Batch size.</summary>
    [ParamsSource(nameof(BatchSizes))]
    public int N { get; set; }

    /// <summary>Embedding dimension (student and teacher).</summary>
    [ParamsSource(nameof(Dimensions))]
    public int D { get; set; }

    /// <summary>All embedding losses (RKD angle is O(N^3): see <see cref="RkdAngleBenchmarks"/>), or the comma-separated subset in LOSS_BENCH_LOSSES.</summary>
    public static IEnumerable<string> LossNames()
    {
        var all = new[]
        {
            "absolute", "relative", "rkd-distance", "relaxed-contrastive",
            "triplet-hard", "contrastive", "multi-similarity", "proxy-anchor",
        };
        var only = Environment.GetEnvironmentVariable("LOSS_BENCH_LOSSES");
        return string.IsNullOrWhiteSpace(only) ? all : all.Where(only.Split(',').Contains).ToArray();
    }

    /// <summary>Batch sizes (32 only in smoke mode; LOSS_BENCH_BATCHES selects a subset).</summary>
    public virtual IEnumerable<int> BatchSizes() => Smoke ? new[] { 32 } : Subset("LOSS_BENCH_BATCHES", new[] { 32, 128, 512 });

    /// <summary>The comma-separated subset of <paramref name="all"/> named by an environment variable, or all.</summary>
    protected static int[] Subset(string variable, int[] all)
    {
        var only = Environment.GetEnvironmentVariable(variable);
        return string.IsNullOrWhiteSpace(only) ? all : all.Where(v => only.Split(',').Contains(v.ToString(System.Globalization.CultureInfo.InvariantCulture))).ToArray();
    }

    /// <summary>Dimensions (128 only in smoke mode).</summary>
    public static IEnumerable<int> Dimensions() => Smoke ? new[] { 128 } : new[] { 128, 512 };

    /// <summary>Builds the loss and the inputs (P x K sampling: N / 8 classes of 8 images).</summary>
    [GlobalSetup]
    public void Setup()
    {
        torch.manual_seed(1);
        _loss = CreateLoss();
        _s = nn.functional.normalize(torch.randn(N, D), p: 2, dim: 1).requires_grad_(true);
        _t = nn.functional.normalize(torch.randn(N, D), p: 2, dim: 1);
        _y = torch.arange(N).div(PerClass, RoundingMode.floor) % Classes;
        _proxies = _loss is ProxyAnchorLoss pa ? pa.Proxies : torch.randn(Classes, D).requires_grad_(true);
        // After the inputs, so that they are the same as before this reference existed.
        _torchLoss = CreateLoss();
        if (!UseTorchForm(_torchLoss)) { _torchLoss.Dispose(); _torchLoss = null; }
    }

    private nn.Module<Tensor, Tensor, Tensor> CreateLoss() =>
        Loss switch
        {
            "absolute" => new AbsoluteTeacherLoss(),
            "relative" => new RelativeTeacherLoss(),
            "rkd-distance" => new RkdDistanceLoss(),
            "rkd-angle" => new RkdAngleLoss(),
            "relaxed-contrastive" => new RelaxedContrastiveLoss(),
            "triplet-hard" => new TripletLoss(0.2),
            "contrastive" => new ContrastiveLoss(),
            "multi-similarity" => new MultiSimilarityLoss(),
            "proxy-anchor" => new ProxyAnchorLoss(new ProxyAnchorLossOptions { ClassCount = Classes, EmbeddingDimension = D }),
            _ => throw new ArgumentException(Loss),
        };

    /// <summary>Frees the inputs.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _loss.Dispose();
        _torchLoss?.Dispose();
        _s.Dispose();
        _t.Dispose();
        _y.Dispose();
        _proxies.Dispose();
    }

    private bool IsMetric => Loss is "triplet-hard" or "contrastive" or "multi-similarity" or "proxy-anchor";

    private double Run(Func<Tensor> forward)
    {
        using var scope = torch.NewDisposeScope();
        var value = forward();
        var inputs = Loss == "proxy-anchor" ? new[] { _s, _proxies } : new[] { _s };
        var grads = torch.autograd.grad(new[] { value }, inputs);
        return grads[0].sum().item<float>() + value.item<float>();
    }

    /// <summary>The matmuls the loss cannot avoid: Gram matrices forward (student, and teacher for distillation terms; X P^T for proxies) and the gradient matmul(s) backward. For the absolute loss: the element-wise pass over S - T.</summary>
    [Benchmark(Baseline = true)]
    public double Floor()
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        Tensor r;
        switch (Loss)
        {
            case "absolute":
                r = (_s - _t).mul_(2);
                break;
            case "proxy-anchor":
                var g = _s.mm(_proxies.t());
                r = g.mm(_proxies).add_(g.t().mm(_s).sum());
                break;
            default:
                var gs = _s.mm(_s.t());
                if (!IsMetric) gs.add_(_t.mm(_t.t()));
                r = gs.mm(_s);
                break;
        }
        return r.sum().item<float>();
    }

    /// <summary>The library's loss, forward + backward.</summary>
    [Benchmark]
    public double Library() => Run(() => _loss.forward(_s, IsMetric ? _y : _t));

    /// <summary>Switches the loss to the torch form its fused CPU path replaced (for <see cref="LossFloorComparison"/>); false when it has none.</summary>
    internal bool UseTorchForm() => UseTorchForm(_loss);

    private static bool UseTorchForm(nn.Module<Tensor, Tensor, Tensor> loss)
    {
        switch (loss)
        {
            case RelativeTeacherLoss l: l.TorchPath = true; return true;
            case TripletLoss l: l.TorchPath = true; return true;
            case RkdDistanceLoss l: l.TorchPath = true; return true;
            case ContrastiveLoss l: l.TorchPath = true; return true;
            case MultiSimilarityLoss l: l.TorchPath = true; return true;
            default: return false;
        }
    }

    /// <summary>The torch form the fused CPU path replaced (relative, triplet, RKD distance, contrastive, multi-similarity); the library's loss itself for the others.</summary>
    [Benchmark]
    public double TorchForm() => Run(() => (_torchLoss ?? _loss).forward(_s, IsMetric ? _y : _t));

    /// <summary>A naive broadcasting implementation, forward + backward.</summary>
    [Benchmark]
    public double Naive() => Run(() => NaiveLosses.Compute(Loss, _s, _t, _y, _proxies));
}
