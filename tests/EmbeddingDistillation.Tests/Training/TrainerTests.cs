using EmbeddingDistillation.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Tests.Training;

public class TrainerTests : IDisposable
{
    private readonly string dir = Path.Combine(Path.GetTempPath(), "ed-trainer-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
    }

    private static TrainingData Data(BlobDataset train, int batches = 6) => new()
    {
        Train = train,
        Sampler = new SimplePkSampler(train.Labels, p: 4, k: 4, seed: 3, batches: batches),
    };

    private static TrainingOptions Options(int epochs = 3, string? checkpoints = null) => new()
    {
        Epochs = epochs, LearningRate = 1e-2, WeightDecay = 0, Seed = 11, CheckpointDirectory = checkpoints,
        Schedule = LearningRateSchedule.Cosine, WarmupSteps = 3,
    };

    private static float[] Weights(TinyNetwork net) => net.parameters().SelectMany(p => p.detach().cpu().data<float>().ToArray()).ToArray();

    [Fact]
    public void MetricLossDecreases()
    {
        var net = new TinyNetwork(48, 16, 8, seed: 1);
        var result = new Trainer().Fit(net, TrainingObjective.MetricOnly(new TestContrastive()), Data(new BlobDataset(8, 10, 5)), Options(epochs: 8));
        Assert.Equal(8, result.EpochsCompleted);
        Assert.Equal(48, result.Steps);
        Assert.True(result.History[^1].Loss < 0.7 * result.History[0].Loss, $"loss {result.History[0].Loss} -> {result.History[^1].Loss}");
        Assert.False(result.Cancelled);
    }

    [Fact]
    public void CancelledRunResumesExactlyWhereItStopped()
    {
        var train = new BlobDataset(8, 10, 5);
        var objective = TrainingObjective.MetricOnly(new TestContrastive());

        var straight = new TinyNetwork(48, 16, 8, seed: 1);
        var full = new Trainer().Fit(straight, objective, Data(train), Options(epochs: 3));

        var interrupted = new TinyNetwork(48, 16, 8, seed: 1);
        using var cts = new CancellationTokenSource();
        var progress = new SynchronousProgress(p => { if (p.Step == 8) cts.Cancel(); });
        var first = new Trainer().Fit(interrupted, objective, Data(train), Options(epochs: 3, checkpoints: dir), progress, cts.Token);
        Assert.True(first.Cancelled);
        Assert.Equal(8, first.Steps);
        Assert.True(File.Exists(Path.Combine(dir, Trainer.LastCheckpointFile)));

        var resumedNet = new TinyNetwork(48, 16, 8, seed: 99); // different init: everything must come from the checkpoint
        var second = new Trainer().Fit(resumedNet, objective, Data(train), Options(epochs: 3, checkpoints: dir));
        Assert.True(second.Resumed);
        Assert.Equal(full.Steps, second.Steps);
        Assert.Equal(Weights(straight), Weights(resumedNet));
        Assert.Equal(full.History.Select(h => h.Loss), second.History.Select(h => h.Loss));
    }

    [Fact]
    public void CorruptCheckpointFailsNamingTheFile()
    {
        var train = new BlobDataset(8, 10, 5);
        var objective = TrainingObjective.MetricOnly(new TestContrastive());
        new Trainer().Fit(new TinyNetwork(48, 16, 8, 1), objective, Data(train), Options(epochs: 1, checkpoints: dir));
        var path = Path.Combine(dir, Trainer.LastCheckpointFile);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<InvalidDataException>(() =>
            new Trainer().Fit(new TinyNetwork(48, 16, 8, 1), objective, Data(train), Options(epochs: 2, checkpoints: dir)));
        Assert.Contains(path, e.Message);
        Assert.Contains("truncated", e.Message);
        Assert.Empty(Directory.GetFiles(dir, "*.tmp"));
    }

    [Fact]
    public void TeacherIsFrozenAndItsCleanOutputsAreCached()
    {
        var train = new BlobDataset(8, 10, 5);
        var teacher = new TinyNetwork(48, 32, 8, seed: 2);
        var teacherBefore = Weights(teacher);
        var student = new TinyNetwork(48, 8, 8, seed: 3);
        var term = new TestEmbeddingMse();
        var objective = TrainingObjective.Distillation(new TestContrastive(), teacher, new WeightedDistillationTerm(term, 1.0));
        var cached = new Trainer().Fit(student, objective, Data(train), new TrainingOptions
        {
            Epochs = 4, LearningRate = 1e-2, WeightDecay = 0, TeacherView = TeacherView.Clean, CacheTeacherOutputs = true,
        });
        Assert.Equal(teacherBefore, Weights(teacher));
        Assert.False(teacher.training);
        Assert.Equal(24, term.Calls);
        // Every distinct sample is embedded by the teacher at most once.
        Assert.True(teacher.EmbeddedImages <= train.Count, $"teacher embedded {teacher.EmbeddedImages} images for {train.Count} samples");

        var uncachedTeacher = new TinyNetwork(48, 32, 8, seed: 2);
        new Trainer().Fit(new TinyNetwork(48, 8, 8, seed: 3),
            TrainingObjective.Distillation(new TestContrastive(), uncachedTeacher, new WeightedDistillationTerm(new TestEmbeddingMse(), 1.0)),
            Data(train), new TrainingOptions { Epochs = 4, LearningRate = 1e-2, WeightDecay = 0, TeacherView = TeacherView.Clean, CacheTeacherOutputs = false });
        Assert.Equal(24 * 16, uncachedTeacher.EmbeddedImages);
    }

    [Fact]
    public void UnlabelledBatchesCarryOnlyDistillationTerms()
    {
        var train = new BlobDataset(8, 10, 5);
        var unlabelled = new BlobDataset(8, 4, 6, unlabelled: true);
        var teacher = new TinyNetwork(48, 32, 8, seed: 2);
        var data = new TrainingData
        {
            Train = train, Sampler = new SimplePkSampler(train.Labels, 4, 4, 3, 4),
            Unlabelled = unlabelled, UnlabelledSampler = new SequentialSampler(unlabelled.Count, 16), UnlabelledRatio = 0.5,
        };
        var steps = new List<TrainingProgress>();
        var objective = TrainingObjective.Distillation(new TestContrastive(), teacher, new WeightedDistillationTerm(new TestEmbeddingMse(), 1.0));
        var result = new Trainer().Fit(new TinyNetwork(48, 8, 8, 3), objective, data, Options(epochs: 2), new SynchronousProgress(steps.Add));
        Assert.Equal(12, result.Steps); // 4 labelled + 2 unlabelled per epoch
        var perStep = steps.Where(s => s.Validation is null).ToArray();
        Assert.Equal(4, perStep.Count(s => !s.Terms.ContainsKey("contrastive")));
        Assert.All(perStep, s => Assert.True(s.Terms.ContainsKey("mse")));
    }

    [Fact]
    public void KeepsBestCheckpointAndStopsEarly()
    {
        var train = new BlobDataset(8, 10, 5);
        var data = new TrainingData
        {
            Train = train, Sampler = new SimplePkSampler(train.Labels, 4, 4, 3, 3),
            Validator = new ScriptedValidator(0.2, 0.5, 0.4, 0.45, 0.3, 0.9),
        };
        var net = new TinyNetwork(48, 16, 8, 1);
        float[]? bestWeights = null;
        var progress = new SynchronousProgress(p => { if (p.Validation?["recall@1"] == 0.5) bestWeights = Weights(net); });
        var result = new Trainer().Fit(net, TrainingObjective.MetricOnly(new TestContrastive()), data,
            Options(epochs: 10, checkpoints: dir) with { EarlyStoppingPatience = 3 }, progress);
        Assert.True(result.StoppedEarly);
        Assert.Equal(5, result.EpochsCompleted);
        Assert.Equal(0.5, result.BestMetric);
        Assert.Equal(2, result.BestEpoch);
        Assert.Equal(bestWeights, Weights(net)); // best weights restored at the end
    }

    [Fact]
    public void NoTensorLeaksOverAThousandSteps()
    {
        var train = new BlobDataset(8, 10, 5);
        var teacher = new TinyNetwork(48, 32, 8, seed: 2);
        var objective = TrainingObjective.Distillation(new TestContrastive(), teacher, new WeightedDistillationTerm(new TestEmbeddingMse(), 0.5));
        var net = new TinyNetwork(48, 8, 8, 3);
        long? after100 = null;
        long? after1000 = null;
        var progress = new SynchronousProgress(p =>
        {
            if (p.Step == 100) after100 = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
            if (p.Step == 1000) after1000 = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        });
        var result = new Trainer().Fit(net, objective, Data(train, batches: 100), new TrainingOptions { Epochs = 10, LearningRate = 1e-3 }, progress);
        Assert.Equal(1000, result.Steps);
        Assert.NotNull(after100);
        Assert.Equal(after100, after1000);
    }

    [Fact]
    public void BadOptionsAreRejectedByName()
    {
        var train = new BlobDataset(8, 10, 5);
        var net = new TinyNetwork(48, 16, 8, 1);
        var objective = TrainingObjective.MetricOnly(new TestContrastive());
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new Trainer().Fit(net, objective, Data(train), new TrainingOptions { LearningRate = 0 }));
        Assert.Contains("LearningRate", e.Message);
        Assert.Throws<ArgumentException>(() => TrainingObjective.Distillation(null, net));
        var d = Assert.Throws<InvalidOperationException>(() => new Trainer().Fit(net, objective, Data(train), new TrainingOptions { Device = "cuda:0" }));
        Assert.Contains("cuda", d.Message);
    }

    [Fact]
    public void StepSeedsAreStableAcrossProcesses()
    {
        Assert.Equal(Trainer.StepSeed(0, 0, 0), Trainer.StepSeed(0, 0, 0));
        Assert.NotEqual(Trainer.StepSeed(0, 0, 1), Trainer.StepSeed(0, 1, 0));
        Assert.Equal(621253976, Trainer.StepSeed(1, 2, 3)); // pinned: a change would silently break resuming old runs
    }
}

/// <summary>Progress that reports on the calling thread (Progress&lt;T&gt; posts to the thread pool).</summary>
internal sealed class SynchronousProgress(Action<TrainingProgress> onReport) : IProgress<TrainingProgress>
{
    public void Report(TrainingProgress value) => onReport(value);
}
