using EmbeddingDistillation.Networks;
using EmbeddingDistillation.Training;
using TorchSharp;

namespace EmbeddingDistillation.Tests.Training;

/// <summary>Cancellation at every point of an epoch leaves a checkpoint that resumes into the uninterrupted run.</summary>
public class CancellationTests : IDisposable
{
    private readonly string dir = Path.Combine(Path.GetTempPath(), "ed-cancel-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
    }

    private static TrainingData Data(BlobDataset train) => new()
    {
        Train = train,
        Sampler = new SimplePkSampler(train.Labels, p: 4, k: 4, seed: 3, batches: 4),
        Validator = new CancellableValidator(),
    };

    private static TrainingOptions Options(string? checkpoints) => new()
    {
        Epochs = 3, LearningRate = 1e-2, WeightDecay = 0, Seed = 11, CheckpointDirectory = checkpoints, RestoreBestAtEnd = false,
    };

    [Theory]
    [InlineData(4, false)]  // cancel requested during the epoch's last step: the validation has not started
    [InlineData(4, true)]   // cancel requested during the validation itself
    [InlineData(2, false)]  // mid-epoch
    [InlineData(8, false)]
    public void CancelAnywhereLeavesACheckpointThatResumesIntoTheUninterruptedRun(int cancelAtStep, bool duringValidation)
    {
        var train = new BlobDataset(8, 10, 5);
        var objective = TrainingObjective.MetricOnly(new EmbeddingDistillation.Losses.TripletLoss(0.2));
        var straight = new TinyNetwork(48, 16, 8, seed: 1);
        var full = new Trainer().Fit(straight, objective, Data(train), Options(null));

        using var cts = new CancellationTokenSource();
        var data = Data(train);
        var validator = (CancellableValidator)data.Validator!;
        if (duringValidation) validator.OnValidate = () => { if (validator.Calls == cancelAtStep / 4) cts.Cancel(); };
        var progress = new SynchronousProgress(p => { if (!duringValidation && p.Validation is null && p.Step == cancelAtStep) cts.Cancel(); });
        var first = new Trainer().Fit(new TinyNetwork(48, 16, 8, seed: 1), objective, data, Options(dir), progress, cts.Token);

        Assert.True(first.Cancelled);
        Assert.Equal(cancelAtStep, first.Steps);
        Assert.True(File.Exists(Path.Combine(dir, Trainer.LastCheckpointFile)), "no checkpoint after the cancel");

        var resumedNet = new TinyNetwork(48, 16, 8, seed: 99);
        var second = new Trainer().Fit(resumedNet, objective, Data(train), Options(dir));
        Assert.True(second.Resumed);
        Assert.False(second.Cancelled);
        Assert.Equal(full.Steps, second.Steps);
        Assert.Equal(full.Validations.Select(v => (v.Epoch, v.Step, v.Metrics["recall@1"])), second.Validations.Select(v => (v.Epoch, v.Step, v.Metrics["recall@1"])));
        Assert.Equal(full.BestEpoch, second.BestEpoch);
        Assert.Equal(full.History.Select(h => h.Loss), second.History.Select(h => h.Loss));
        Assert.Equal(Weights(straight), Weights(resumedNet));
    }

    private static float[] Weights(IEmbeddingNetwork net) => net.Module.parameters().SelectMany(p => p.detach().cpu().data<float>().ToArray()).ToArray();

    /// <summary>A validator that, like the retrieval one, throws when its token is cancelled; its score depends on the weights.</summary>
    private sealed class CancellableValidator : IValidator
    {
        public int Calls;
        public Action? OnValidate;

        public IReadOnlyDictionary<string, double> Validate(IEmbeddingNetwork network, CancellationToken cancellationToken)
        {
            Calls++;
            OnValidate?.Invoke();
            cancellationToken.ThrowIfCancellationRequested();
            double score = network.Module.parameters().First().detach().abs().sum().ToDouble() % 1.0;
            return new Dictionary<string, double> { ["recall@1"] = score };
        }
    }
}

/// <summary>The best validated weights come back at the end with or without a checkpoint folder.</summary>
public class BestWeightsTests : IDisposable
{
    private readonly string dir = Path.Combine(Path.GetTempPath(), "ed-best-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TheBestEpochsWeightsAreRestoredWithOrWithoutCheckpoints(bool checkpoints)
    {
        var train = new BlobDataset(8, 10, 5);
        var net = new TinyNetwork(48, 16, 8, seed: 1);
        float[]? atBest = null;
        var progress = new SynchronousProgress(p =>
        {
            if (p.Validation is not null && p.Epoch == 2) atBest = net.parameters().SelectMany(q => q.detach().cpu().data<float>().ToArray()).ToArray();
        });
        var data = new TrainingData
        {
            Train = train, Sampler = new SimplePkSampler(train.Labels, p: 4, k: 4, seed: 3, batches: 4),
            Validator = new ScriptedValidator(0.3, 0.9, 0.5, 0.4),
        };
        var result = new Trainer().Fit(net, TrainingObjective.MetricOnly(new EmbeddingDistillation.Losses.TripletLoss(0.2)), data,
            new TrainingOptions { Epochs = 4, LearningRate = 1e-2, Seed = 1, CheckpointDirectory = checkpoints ? dir : null }, progress);
        Assert.Equal(2, result.BestEpoch);
        Assert.NotNull(atBest);
        Assert.Equal(atBest, net.parameters().SelectMany(q => q.detach().cpu().data<float>().ToArray()).ToArray());
    }
}
