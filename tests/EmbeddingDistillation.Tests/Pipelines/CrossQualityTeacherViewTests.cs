using EmbeddingDistillation.Data;
using EmbeddingDistillation.Losses;
using EmbeddingDistillation.Networks;
using EmbeddingDistillation.Training;
using EmbeddingDistillation.Vision;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Tests.Pipelines;

/// <summary>Records the first batch a network embeds (as floats, so nothing outlives the trainer's dispose scope).</summary>
internal sealed class RecordingNetwork(IEmbeddingNetwork inner) : IEmbeddingNetwork
{
    public float[]? FirstBatch;
    public long[]? FirstShape;

    public string Name => inner.Name;
    public int EmbeddingDimension => inner.EmbeddingDimension;
    public IReadOnlyList<string> TapNames => inner.TapNames;
    public nn.Module Module => inner.Module;

    public EmbeddingOutput Embed(Tensor images, IReadOnlyCollection<string>? taps = null)
    {
        if (FirstBatch is null)
        {
            FirstBatch = images.cpu().data<float>().ToArray();
            FirstShape = images.shape;
        }
        return inner.Embed(images, taps);
    }
}

/// <summary>Records the batches of the first epoch a sampler hands out.</summary>
internal sealed class RecordingSampler(IBatchSampler inner) : IBatchSampler
{
    public IReadOnlyList<int[]>? FirstEpoch;
    public int BatchesPerEpoch => inner.BatchesPerEpoch;

    public IReadOnlyList<int[]> Epoch(int epoch)
    {
        var batches = inner.Epoch(epoch);
        if (epoch == 0) FirstEpoch ??= batches;
        return batches;
    }
}

public class CrossQualityTeacherViewTests
{
    [Fact]
    public void TeacherReceivesTheCleanViewAndStudentTheDegradedOneWithTheSameCrop()
    {
        using var f = new PaperFixture(trainClasses: 4, testClasses: 1, imagesPerClass: 4, width: 64, height: 48);
        var split = PaperSplits.Cub(Cub200.Read(f.Cub), validationFraction: 0);
        var options = new ImageDatasetOptions { Transform = new ImageTransformOptions { ImageSize = 32 } };
        var ds = new CrossQualityDataset(split.Layout, split.Train.Records, new LowQualityOptions { DownscaleFactor = 4, JpegQuality = 20 }, options);

        var small = new EmbeddingNetworkOptions { SmallInputStem = true, BaseWidth = 4 };
        torch.manual_seed(1);
        var teacher = new RecordingNetwork(EmbeddingNetworks.ResNet18(8, small));
        var student = new RecordingNetwork(EmbeddingNetworks.MobileNetV1(0.25, 8, small));
        var sampler = new RecordingSampler(new ClassBalancedSampler(ds.Labels, new ClassBalancedSamplerOptions { BatchesPerEpoch = 1, Seed = 2 }));
        var objective = TrainingObjective.Distillation(new TripletLoss(), teacher, new WeightedDistillationTerm(new AbsoluteTeacherLoss(), 1.0));
        var trainingOptions = new TrainingOptions { Epochs = 1, Device = "cpu", Seed = 7, TeacherView = TeacherView.SameAsStudent };

        new Trainer().Fit(student, objective, new TrainingData { Train = ds, Sampler = sampler }, trainingOptions);

        var batch = sampler.FirstEpoch![0];
        int seed = Trainer.StepSeed(7, 0, 0);
        using var scope = NewDisposeScope();
        var clean = ds.LoadTeacherImages(batch, augment: true, seed);
        var degraded = ds.LoadImages(batch, augment: true, seed);
        Assert.Equal(clean.shape, teacher.FirstShape);
        Assert.Equal(clean.data<float>().ToArray(), teacher.FirstBatch);
        Assert.Equal(degraded.data<float>().ToArray(), student.FirstBatch);
        // The views really differ (x4 downscale + JPEG q20), and the clean one has more fine detail.
        Assert.True((clean - degraded).abs().mean().ToDouble() > 0.05);
        Assert.True(Detail(clean) > Detail(degraded) * 1.2, $"detail clean {Detail(clean)} vs degraded {Detail(degraded)}");
    }

    /// <summary>Mean absolute horizontal gradient: high-frequency content.</summary>
    private static double Detail(Tensor x) => (x[.., .., .., 1..] - x[.., .., .., ..^1]).abs().mean().ToDouble();
}
