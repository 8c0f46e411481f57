using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using EmbeddingDistillation.Data;
using EmbeddingDistillation.Losses;
using EmbeddingDistillation.Networks;
using EmbeddingDistillation.Training;
using TorchSharp;

namespace EmbeddingDistillation.Benchmarks.Training;

/// <summary>
/// What the teacher cache buys: a 4-epoch distillation run (MobileNetV1-0.25 student, ResNet-18 teacher, 32 px
/// synthetic images, 128 training images, batches of 4 x 8, one intra-op thread) with the teacher's clean-view outputs
/// cached (the teacher runs once per sample) against the same run recomputing them every step, for a term on the
/// embeddings (absolute) and one on feature maps (hint: teacher layer3 from student stage4, whose maps the cache
/// keeps too), next to the baseline student (no teacher) that a cached run should cost.
/// <c>dotnet run -c Release --project benchmarks/EmbeddingDistillation.Benchmarks -- --filter '*TeacherCache*'</c>.
/// </summary>
[Config(typeof(Config))]
public class TeacherCacheBenchmarks
{
    private sealed class Config : ManualConfig
    {
        public Config() =>
            AddJob(Job.Default.WithStrategy(RunStrategy.Monitoring).WithLaunchCount(1).WithWarmupCount(1)
                .WithIterationCount(Environment.GetEnvironmentVariable("BENCH_SMOKE") == "1" ? 1 : 5)
                .WithToolchain(new InProcessEmitToolchain(TimeSpan.FromMinutes(20), logOutput: false)));
    }

    private IEmbeddingDataset train = null!;
    private EmbeddingNetwork teacher = null!;

    /// <summary>Generates the data and a teacher once.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var data = SyntheticFineGrainedDataset.Generate(new SyntheticDatasetOptions { ClassCount = 8, ImagesPerClass = 16, Seed = 1 });
        train = data;
        // One intra-op thread: on a small shared machine two threads contend badly and swamp the comparison.
        torch.set_num_threads(1);
        torch.manual_seed(0);
        teacher = EmbeddingNetworks.ResNet18(128);
    }

    /// <summary>The distillation term: <c>absolute</c> (embeddings) or <c>hint</c> (feature maps).</summary>
    [Params("absolute", "hint")]
    public string Term { get; set; } = "absolute";

    /// <summary>The teacher recomputes its outputs for every batch.</summary>
    [Benchmark(Baseline = true)]
    public int Uncached() => Run(cache: false);

    /// <summary>The teacher runs once per sample; later epochs read the cache (embeddings, and maps for hint).</summary>
    [Benchmark]
    public int Cached() => Run(cache: true);

    /// <summary>The same student trained alone (metric loss only): what a cached distillation run should cost.</summary>
    [Benchmark]
    public int BaselineStudent() => Run(cache: true, distil: false);

    private int Run(bool cache, bool distil = true)
    {
        torch.manual_seed(1);
        var student = EmbeddingNetworks.MobileNetV1(0.25, 128, new EmbeddingNetworkOptions { SmallInputStem = true });
        IDistillationLoss term = Term == "hint"
            ? new HintLoss(student.Taps.Single(t => t.Name == "stage4").Channels, teacher.Taps.Single(t => t.Name == "layer3").Channels,
                new HintLossOptions { Taps = new TapPair("stage4", "layer3") })
            : new AbsoluteTeacherLoss();
        var objective = distil
            ? TrainingObjective.Distillation(new MultiSimilarityLoss(), teacher, new WeightedDistillationTerm(term, 1.0))
            : TrainingObjective.MetricOnly(new MultiSimilarityLoss());
        var data = new TrainingData { Train = train, Sampler = new ClassBalancedSampler(train.Labels, new ClassBalancedSamplerOptions { Seed = 1 }) };
        var result = new Trainer().Fit(student, objective, data, new TrainingOptions
        {
            Epochs = 4, LearningRate = 1e-3, TeacherView = TeacherView.Clean, CacheTeacherOutputs = cache,
        });
        student.Dispose();
        return result.Steps;
    }
}
