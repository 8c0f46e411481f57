using System.Security.Cryptography;
using EmbeddingDistillation.Losses;
using EmbeddingDistillation.Networks;
using EmbeddingDistillation.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Tests.Training;

/// <summary>
/// A training run never goes on with broken numbers: the first step whose student embeddings, teacher embeddings,
/// loss terms or gradients are not finite stops the run with an error naming the run, the step and where, and leaves
/// the last checkpoint as it was; or, when asked, the step is skipped and counted.
/// </summary>
public class NonFiniteTrainingTests : IDisposable
{
    private readonly string dir = Path.Combine(Path.GetTempPath(), "ed-nonfinite-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
    }

    private static TrainingData Data(BlobDataset train) => new()
    {
        Train = train,
        Sampler = new SimplePkSampler(train.Labels, p: 4, k: 4, seed: 3, batches: 4),
    };

    private static TrainingOptions Options(string? checkpoints = null, NonFiniteStepPolicy policy = NonFiniteStepPolicy.Stop) => new()
    {
        Epochs = 3, LearningRate = 1e-2, WeightDecay = 0, Seed = 11, CheckpointDirectory = checkpoints, RunName = "poison test",
        NonFiniteSteps = policy,
    };

    [Theory]
    [InlineData(1)]
    [InlineData(6)]
    public void StudentEmbeddingsTurningNanStopTheRunAtThatStep(int step)
    {
        var net = new PoisonedNetwork(new TinyNetwork(48, 16, 8, seed: 1), poisonedCalls: [step]);
        var e = Assert.Throws<NonFiniteTrainingException>(() =>
            new Trainer().Fit(net, TrainingObjective.MetricOnly(new TripletLoss(0.2)), Data(new BlobDataset(8, 10, 5)), Options()));
        Assert.Equal(step, e.Step);
        Assert.Equal((step - 1) / 4 + 1, e.Epoch);
        Assert.Equal(NonFiniteLocation.StudentEmbeddings, e.Location);
        Assert.Equal("poison test", e.RunName);
        Assert.Contains($"step {step}", e.Message);
        Assert.Contains("student's embeddings", e.Message);
        Assert.All(net.Inner.Module.parameters(), p => Assert.True(p.isfinite().all().item<bool>(), "a poisoned step reached the weights"));
    }

    [Fact]
    public void TeacherEmbeddingsTurningNanAreNamed()
    {
        var student = new TinyNetwork(48, 16, 8, seed: 1);
        // The teacher view is the student's batch (no cache): the teacher runs every step; its third call is poisoned.
        var teacher = new PoisonedNetwork(new TinyNetwork(48, 16, 8, seed: 2), poisonedCalls: [3]);
        var objective = TrainingObjective.Distillation(new TripletLoss(0.2), teacher, new WeightedDistillationTerm(new TestEmbeddingMse(), 1));
        var e = Assert.Throws<NonFiniteTrainingException>(() => new Trainer().Fit(student, objective, Data(new BlobDataset(8, 10, 5)), Options()));
        Assert.Equal(3, e.Step);
        Assert.Equal(NonFiniteLocation.TeacherEmbeddings, e.Location);
        Assert.Contains("teacher's embeddings", e.Message);
    }

    [Fact]
    public void ANonFiniteTermIsNamed()
    {
        var student = new TinyNetwork(48, 16, 8, seed: 1);
        var teacher = new TinyNetwork(48, 16, 8, seed: 2);
        var objective = TrainingObjective.Distillation(new TripletLoss(0.2), teacher,
            new WeightedDistillationTerm(new TestEmbeddingMse(), 1), new WeightedDistillationTerm(new OverflowingTerm(poisonedCall: 5), 0.5));
        var e = Assert.Throws<NonFiniteTrainingException>(() => new Trainer().Fit(student, objective, Data(new BlobDataset(8, 10, 5)), Options()));
        Assert.Equal(5, e.Step);
        Assert.Equal(NonFiniteLocation.Term, e.Location);
        Assert.Equal("overflow", e.Term);
        Assert.Contains("term 'overflow'", e.Message);
    }

    [Fact]
    public void NonFiniteGradientsOfAFiniteLossAreNamed()
    {
        var objective = TrainingObjective.Distillation(new TripletLoss(0.2), new TinyNetwork(48, 16, 8, seed: 2),
            new WeightedDistillationTerm(new NanGradientTerm(), 1));
        var e = Assert.Throws<NonFiniteTrainingException>(() =>
            new Trainer().Fit(new TinyNetwork(48, 16, 8, seed: 1), objective, Data(new BlobDataset(8, 10, 5)), Options()));
        Assert.Equal(1, e.Step);
        Assert.Equal(NonFiniteLocation.Gradients, e.Location);
    }

    [Fact]
    public void TheLastCheckpointStaysTheLastGoodOne()
    {
        var net = new PoisonedNetwork(new TinyNetwork(48, 16, 8, seed: 1), poisonedCalls: [10]);
        var last = Path.Combine(dir, Trainer.LastCheckpointFile);
        var e = Assert.Throws<NonFiniteTrainingException>(() =>
            new Trainer().Fit(net, TrainingObjective.MetricOnly(new TripletLoss(0.2)), Data(new BlobDataset(8, 10, 5)), Options(dir)));
        Assert.Equal(10, e.Step);
        Assert.Contains(last, e.Message);
        // The checkpoint of epoch 2 (steps 5-8) is the last one written, and it resumes into a clean run.
        var clean = new TinyNetwork(48, 16, 8, seed: 7);
        var resumed = new Trainer().Fit(clean, TrainingObjective.MetricOnly(new TripletLoss(0.2)), Data(new BlobDataset(8, 10, 5)), Options(dir));
        Assert.True(resumed.Resumed);
        Assert.Equal(12, resumed.Steps);
        Assert.Equal(2, resumed.History.Count(h => h.Epoch < 2));
        Assert.All(clean.parameters(), p => Assert.True(p.isfinite().all().item<bool>()));
    }

    [Fact]
    public void SkipPolicyFinishesTheRunAndCountsTheSkippedSteps()
    {
        var train = new BlobDataset(8, 10, 5);
        var inner = new BatchNormNetwork(seed: 1);
        var net = new PoisonedNetwork(inner, poisonedCalls: [2, 7]);
        var skipped = new List<int>();
        var progress = new SynchronousProgress(p => { if (p.Skipped) skipped.Add(p.Step); });
        var result = new Trainer().Fit(net, TrainingObjective.MetricOnly(new TripletLoss(0.2)), Data(train),
            Options(policy: NonFiniteStepPolicy.Skip), progress);
        Assert.Equal(12, result.Steps);
        Assert.Equal(2, result.SkippedSteps);
        Assert.Equal([2, 7], skipped);
        Assert.All(inner.parameters(), p => Assert.True(p.isfinite().all().item<bool>()));
        // The skipped steps' forward passes had updated the batch-norm statistics with NaN; the skip restored them.
        Assert.All(inner.buffers().Where(b => b.is_floating_point()), b => Assert.True(b.isfinite().all().item<bool>()));
        Assert.All(result.History, h => Assert.True(double.IsFinite(h.Loss)));
    }

    [Fact]
    public void SkipPolicyStopsAfterTooManySkippedStepsInARow()
    {
        var net = new PoisonedNetwork(new TinyNetwork(48, 16, 8, seed: 1), poisonedCalls: [3, 4, 5]);
        var options = Options(policy: NonFiniteStepPolicy.Skip) with { MaxConsecutiveSkippedSteps = 3 };
        var e = Assert.Throws<NonFiniteTrainingException>(() =>
            new Trainer().Fit(net, TrainingObjective.MetricOnly(new TripletLoss(0.2)), Data(new BlobDataset(8, 10, 5)), options));
        Assert.Equal(5, e.Step);
        Assert.Contains("MaxConsecutiveSkippedSteps", e.Message);
    }

    [Fact]
    public void HealthChecksAndClippingLeakNoTensor()
    {
        // Twelve steps with the checks leave no live tensor behind (DisposeScopeManager statistics).
        var net = new TinyNetwork(48, 16, 8, seed: 1);
        var objective = TrainingObjective.Distillation(new TripletLoss(0.2), new TinyNetwork(48, 16, 8, seed: 2),
            new WeightedDistillationTerm(new TestEmbeddingMse(), 1));
        var data = Data(new BlobDataset(8, 10, 5));
        new Trainer().Fit(net, objective, data, Options() with { Epochs = 1 });
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        new Trainer().Fit(net, objective, data, Options() with { Epochs = 3, GradientClipNorm = 0.5 });
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}

/// <summary>Wraps a network and turns its embeddings into NaN on the given (1-based) Embed calls.</summary>
internal sealed class PoisonedNetwork(IEmbeddingNetwork inner, int[] poisonedCalls) : IEmbeddingNetwork
{
    private int calls;
    public IEmbeddingNetwork Inner => inner;
    public string Name => inner.Name;
    public int EmbeddingDimension => inner.EmbeddingDimension;
    public IReadOnlyList<string> TapNames => inner.TapNames;
    public nn.Module Module => inner.Module;

    public EmbeddingOutput Embed(Tensor images, IReadOnlyCollection<string>? taps = null)
    {
        calls++;
        if (!poisonedCalls.Contains(calls)) return inner.Embed(images, taps);
        var poisoned = images * float.NaN; // NaN enters the network itself (its batch-norm statistics too)
        return inner.Embed(poisoned, taps);
    }
}

/// <summary>Flatten -> Linear -> BatchNorm1d -> ReLU -> Linear -> L2: a network with running statistics.</summary>
internal sealed class BatchNormNetwork : nn.Module<Tensor, Tensor>, IEmbeddingNetwork
{
    private readonly Linear body;
    private readonly BatchNorm1d bn;
    private readonly Linear head;

    public BatchNormNetwork(long seed) : base("bn-net")
    {
        body = nn.Linear(48, 16);
        bn = nn.BatchNorm1d(16);
        head = nn.Linear(16, 8);
        RegisterComponents();
        TinyNetwork.SeededInit(body, seed);
        TinyNetwork.SeededInit(head, seed + 1);
    }

    public string Name => "bn-net";
    public int EmbeddingDimension => 8;
    public IReadOnlyList<string> TapNames => [];
    public nn.Module Module => this;
    public override Tensor forward(Tensor x) => nn.functional.normalize(head.call(nn.functional.relu(bn.call(body.call(x.flatten(1))))), dim: 1);
    public EmbeddingOutput Embed(Tensor images, IReadOnlyCollection<string>? taps = null) => new(forward(images));
}

/// <summary>A distillation term whose value overflows to +inf on one call (finite inputs).</summary>
internal sealed class OverflowingTerm(int poisonedCall) : IDistillationLoss
{
    private int calls;
    public string Name => "overflow";
    public IReadOnlyCollection<string> StudentTaps => [];
    public IReadOnlyCollection<string> TeacherTaps => [];
    public IEnumerable<Parameter> LearnableParameters() => [];
    public Tensor Compute(EmbeddingOutput student, EmbeddingOutput teacher)
    {
        var value = (student.Embedding - teacher.Embedding).pow(2).mean();
        return ++calls == poisonedCall ? value * float.PositiveInfinity : value;
    }
}

/// <summary>A finite term (0) whose gradient is NaN: d sqrt(|u|)/du at u = 0 is inf * 0.</summary>
internal sealed class NanGradientTerm : IDistillationLoss
{
    public string Name => "nan-gradient";
    public IReadOnlyCollection<string> StudentTaps => [];
    public IReadOnlyCollection<string> TeacherTaps => [];
    public IEnumerable<Parameter> LearnableParameters() => [];
    public Tensor Compute(EmbeddingOutput student, EmbeddingOutput teacher)
    {
        var s = student.Embedding.sum();
        return (s - s.detach()).abs().sqrt();
    }
}
