using EmbeddingDistillation.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Tests.Training;

/// <summary>
/// <see cref="TrainingOptions.WeightAverageDecay"/>: the run returns the exponential moving average of its weights, computed
/// exactly as its formula says, validated and checkpointed as the average, and a resumed run continues it bit for bit.
/// </summary>
public class WeightAverageTests : IDisposable
{
    private readonly string dir = Path.Combine(Path.GetTempPath(), "ed-average-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
    }

    private static TrainingData Data(BlobDataset train, IValidator? validator = null) => new()
    {
        Train = train,
        Sampler = new SimplePkSampler(train.Labels, p: 4, k: 4, seed: 3, batches: 5),
        Validator = validator,
    };

    private static TrainingOptions Options(double? decay, string? checkpoints = null) => new()
    {
        Epochs = 3, LearningRate = 1e-2, WeightDecay = 0, Seed = 11, CheckpointDirectory = checkpoints, WeightAverageDecay = decay,
    };

    private static float[] Weights(TinyNetwork net) => net.parameters().SelectMany(p => p.detach().cpu().data<float>().ToArray()).ToArray();

    [Fact]
    public void ReturnedNetworkIsTheMovingAverageOfTheStepsWeights()
    {
        const double decay = 0.9;
        var train = new BlobDataset(8, 10, 5);
        var objective = TrainingObjective.MetricOnly(new TestContrastive());
        // The live weights after every step, recorded by a run without averaging (same seed: the same trajectory).
        var live = new TinyNetwork(48, 16, 8, seed: 1);
        var trajectory = new List<double[]> { Weights(live).Select(w => (double)w).ToArray() };
        new Trainer().Fit(live, objective, Data(train), Options(null), new SynchronousProgress(_ => trajectory.Add(Weights(live).Select(w => (double)w).ToArray())));

        var averaged = new TinyNetwork(48, 16, 8, seed: 1);
        new Trainer().Fit(averaged, objective, Data(train), Options(decay));

        // avg_0 = w_0; avg_t = d_t avg_{t-1} + (1 - d_t) w_t with d_t = min(decay, (1 + t - 1) / (10 + t - 1)).
        var expected = trajectory[0].ToArray();
        for (int t = 1; t < trajectory.Count; t++)
        {
            double d = Math.Min(decay, (double)t / (9 + t));
            for (int i = 0; i < expected.Length; i++) expected[i] = d * expected[i] + (1 - d) * trajectory[t][i];
        }
        var actual = Weights(averaged);
        Assert.Equal(15, trajectory.Count - 1);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 1e-5);
        Assert.NotEqual(Weights(live), actual); // the average is not the last weights
    }

    [Fact]
    public void ValidationSeesTheAverageAndTrainingContinuesFromTheLiveWeights()
    {
        var train = new BlobDataset(8, 10, 5);
        var objective = TrainingObjective.MetricOnly(new TestContrastive());
        var plain = new TinyNetwork(48, 16, 8, seed: 1);
        var seenPlain = new List<float[]>();
        new Trainer().Fit(plain, objective, Data(train, new RecordingValidator(n => seenPlain.Add(Weights(n)))), Options(null));

        var net = new TinyNetwork(48, 16, 8, seed: 1);
        var seen = new List<float[]>();
        var result = new Trainer().Fit(net, objective, Data(train, new RecordingValidator(n => seen.Add(Weights(n)))),
            Options(0.9) with { RestoreBestAtEnd = false });
        Assert.Equal(3, seen.Count);
        // Averaging does not change the training trajectory: the live weights at each epoch end are the plain run's,
        // and what validation saw differs from them.
        for (int e = 0; e < 3; e++) Assert.NotEqual(seenPlain[e], seen[e]);
        Assert.Equal(seen[^1], Weights(net)); // without a restored best, the run returns the final average
        Assert.Equal(3, result.Validations.Count);
    }

    [Fact]
    public void InterruptedAveragedRunResumesBitForBit()
    {
        var train = new BlobDataset(8, 10, 5);
        var objective = TrainingObjective.MetricOnly(new TestContrastive());
        var straight = new TinyNetwork(48, 16, 8, seed: 1);
        new Trainer().Fit(straight, objective, Data(train), Options(0.9));

        var interrupted = new TinyNetwork(48, 16, 8, seed: 1);
        using var cts = new CancellationTokenSource();
        var first = new Trainer().Fit(interrupted, objective, Data(train), Options(0.9, dir), new SynchronousProgress(p => { if (p.Step == 7) cts.Cancel(); }), cts.Token);
        Assert.True(first.Cancelled);

        var resumed = new TinyNetwork(48, 16, 8, seed: 99);
        var second = new Trainer().Fit(resumed, objective, Data(train), Options(0.9, dir));
        Assert.True(second.Resumed);
        Assert.Equal(Weights(straight), Weights(resumed));
    }

    [Fact]
    public void ResumingWithAnotherAveragingSettingIsRefusedNamingTheCheckpoint()
    {
        var train = new BlobDataset(8, 10, 5);
        var objective = TrainingObjective.MetricOnly(new TestContrastive());
        new Trainer().Fit(new TinyNetwork(48, 16, 8, seed: 1), objective, Data(train), Options(null, dir) with { Epochs = 1 });
        var e = Assert.Throws<InvalidDataException>(() =>
            new Trainer().Fit(new TinyNetwork(48, 16, 8, seed: 1), objective, Data(train), Options(0.9, dir)));
        Assert.Contains(Path.Combine(dir, Trainer.LastCheckpointFile), e.Message);
        Assert.Contains("WeightAverageDecay", e.Message);

        Directory.Delete(dir, recursive: true);
        new Trainer().Fit(new TinyNetwork(48, 16, 8, seed: 1), objective, Data(train), Options(0.9, dir) with { Epochs = 1 });
        e = Assert.Throws<InvalidDataException>(() =>
            new Trainer().Fit(new TinyNetwork(48, 16, 8, seed: 1), objective, Data(train), Options(null, dir)));
        Assert.Contains("averaged its weights", e.Message);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    [InlineData(-0.5)]
    [InlineData(double.NaN)]
    public void DecayOutsideTheOpenUnitIntervalIsRefused(double decay)
    {
        var train = new BlobDataset(8, 10, 5);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new Trainer().Fit(new TinyNetwork(48, 16, 8, seed: 1),
            TrainingObjective.MetricOnly(new TestContrastive()), Data(train), Options(decay)));
        Assert.Equal(nameof(TrainingOptions.WeightAverageDecay), e.ParamName);
    }

    /// <summary>Records the weights it is asked to validate and scores every epoch alike.</summary>
    private sealed class RecordingValidator(Action<TinyNetwork> record) : IValidator
    {
        public IReadOnlyDictionary<string, double> Validate(EmbeddingDistillation.Networks.IEmbeddingNetwork network, CancellationToken cancellationToken)
        {
            record((TinyNetwork)network);
            return new Dictionary<string, double> { ["recall@1"] = 0.5 };
        }
    }
}
