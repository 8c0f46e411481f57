using EmbeddingDistillation.Losses;
using EmbeddingDistillation.Networks;
using EmbeddingDistillation.Tests.Support;
using EmbeddingDistillation.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Tests.Training;

/// <summary>
/// The teacher cache with feature maps: a term that reads the teacher's tapped maps (hint, attention) no longer turns
/// the cache off; the maps are cached (optionally in float16) under a memory budget, and checkpoints carry them.
/// </summary>
public sealed class TeacherMapCacheTests : IDisposable
{
    private readonly string dir = Path.Combine(Path.GetTempPath(), "ed-mapcache-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
    }

    private static readonly BlobDataset Train = new(8, 10, 5);

    private static TrainingData Data() => new() { Train = Train, Sampler = new SimplePkSampler(Train.Labels, p: 4, k: 4, seed: 3, batches: 6) };

    private static TrainingOptions Options(bool cache, string? checkpoints = null) => new()
    {
        Epochs = 3, LearningRate = 1e-2, WeightDecay = 0, Seed = 11, TeacherView = TeacherView.Clean, CacheTeacherOutputs = cache,
        CheckpointDirectory = checkpoints,
    };

    private static (TinyNetwork Teacher, TinyNetwork Student, TrainingResult Result) Run(TrainingOptions options, IProgress<TrainingProgress>? progress = null,
        CancellationToken ct = default, TinyNetwork? student = null)
    {
        var teacher = new TinyNetwork(48, 32, 8, seed: 2);
        student ??= new TinyNetwork(48, 8, 8, seed: 3);
        var objective = TrainingObjective.Distillation(new TestContrastive(), teacher, new WeightedDistillationTerm(new TestTapMse(), 1.0));
        return (teacher, student, new Trainer().Fit(student, objective, Data(), options, progress, ct));
    }

    private static float[] Weights(TinyNetwork net) => net.parameters().SelectMany(p => p.detach().cpu().data<float>().ToArray()).ToArray();

    [Fact]
    public void TapTermsUseTheCacheAndTrainAsWithoutIt()
    {
        var (cachedTeacher, cached, _) = Run(Options(cache: true));
        var (uncachedTeacher, uncached, _) = Run(Options(cache: false));
        Assert.True(cachedTeacher.EmbeddedImages <= Train.Count, $"the teacher embedded {cachedTeacher.EmbeddedImages} images for {Train.Count} samples");
        Assert.Equal(18 * 16, uncachedTeacher.EmbeddedImages);
        // A sample's teacher output depends on the batch it ran in only in the last bits.
        Assert.Equal(Weights(uncached), Weights(cached), new ToleranceComparer(1e-4));
    }

    [Fact]
    public void HalfPrecisionMapsTrainAsFullPrecisionOnesWithinFloat16Rounding()
    {
        var (_, full, _) = Run(Options(cache: true));
        var (teacher, half, _) = Run(Options(cache: true) with { TeacherCacheHalfPrecisionMaps = true });
        Assert.True(teacher.EmbeddedImages <= Train.Count);
        Assert.Equal(Weights(full), Weights(half), new ToleranceComparer(2e-2));
    }

    [Fact]
    public void MapsOverTheBudgetRunTheTeacherAtEveryStepAndSaySo()
    {
        // 80 samples x 32 floats x 4 bytes = 10,240 bytes of maps: one byte less than that is over budget.
        var logs = new ListLogger();
        var (teacher, _, result) = Run(Options(cache: true) with { TeacherCacheMaxMapBytes = 80 * 32 * 4 - 1, LoggerFactory = logs });
        Assert.Equal(18, result.Steps);
        Assert.Equal(16 + 18 * 16, teacher.EmbeddedImages); // the first batch's probe, then every step
        Assert.Contains(logs.Messages, m => m.Contains("TeacherCacheMaxMapBytes") && m.Contains("every step"));

        var (fits, _, _) = Run(Options(cache: true) with { TeacherCacheMaxMapBytes = 80 * 32 * 4 });
        Assert.True(fits.EmbeddedImages <= Train.Count);
    }

    [Fact]
    public void AResumedRunRestoresTheCachedMapsAndEndsBitIdentical()
    {
        var (straightTeacher, straight, full) = Run(Options(cache: true));

        using var cts = new CancellationTokenSource();
        var progress = new SynchronousProgress(p => { if (p.Step == 8) cts.Cancel(); });
        var (firstTeacher, _, first) = Run(Options(cache: true, checkpoints: dir), progress, cts.Token);
        Assert.True(first.Cancelled);

        var (resumedTeacher, resumed, second) = Run(Options(cache: true, checkpoints: dir), student: new TinyNetwork(48, 8, 8, seed: 99));
        Assert.True(second.Resumed);
        // The cached maps came back from the checkpoint: the teacher embeds only the images it had not seen yet.
        Assert.Equal(straightTeacher.EmbeddedImages, firstTeacher.EmbeddedImages + resumedTeacher.EmbeddedImages);
        Assert.Equal(Weights(straight), Weights(resumed));
        Assert.Equal(full.History.Select(h => h.Loss), second.History.Select(h => h.Loss));
    }

    /// <summary>Reads both networks' "body" maps (mean over channels, so the widths may differ).</summary>
    private sealed class TestTapMse : IDistillationLoss
    {
        public string Name => "tap-mse";
        public IReadOnlyCollection<string> StudentTaps => ["body"];
        public IReadOnlyCollection<string> TeacherTaps => ["body"];
        public IEnumerable<Parameter> LearnableParameters() => [];
        public Tensor Compute(EmbeddingOutput student, EmbeddingOutput teacher) =>
            (student.Feature("body").mean([1]) - teacher.Feature("body").mean([1])).pow(2).mean() + (student.Embedding - teacher.Embedding).pow(2).sum(1).mean();
    }

    private sealed class ToleranceComparer(double tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float x, float y) => Math.Abs(x - y) <= tolerance * Math.Max(1, Math.Abs(y));
        public int GetHashCode(float obj) => 0;
    }
}
