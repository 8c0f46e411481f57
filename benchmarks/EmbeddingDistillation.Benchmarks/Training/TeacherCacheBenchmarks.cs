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
/// What the teacher embedding cache buys: a 4-epoch distillation run (MobileNetV1-0.25 student, ResNet-18 teacher,
/// 32 px synthetic images, 128 training images, batches of 4 x 8, one intra-op thread) with the teacher's clean-view outputs cached
/// (the teacher runs once per sample) against the same run recomputing them every step.
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

    /// <summary>The teacher recomputes its embeddings for every batch.</summary>
    [Benchmark(Baseline = true)]
    public int Uncached() => Run(cache: false);

    /// <summary>The teacher embeds each sample once; later epochs read the cache.</summary>
    [Benchmark]
    public int Cached() => Run(cache: true);

    private int Run(bool cache)
    {
        torch.manual_seed(1);
        var student = EmbeddingNetworks.MobileNetV1(0.25, 128, new EmbeddingNetworkOptions { SmallInputStem = true });
        var objective = TrainingObjective.Distillation(new MultiSimilarityLoss(), teacher,
            new WeightedDistillationTerm(new AbsoluteTeacherLoss(), 1.0));
        var data = new TrainingData { Train = train, Sampler = new ClassBalancedSampler(train.Labels, new ClassBalancedSamplerOptions { Seed = 1 }) };
        var result = new Trainer().Fit(student, objective, data, new TrainingOptions
        {
            Epochs = 4, LearningRate = 1e-3, TeacherView = TeacherView.Clean, CacheTeacherOutputs = cache,
        });
        student.Dispose();
        return result.Steps;
    }
}
