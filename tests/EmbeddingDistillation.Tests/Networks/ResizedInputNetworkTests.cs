using EmbeddingDistillation.Networks;
using EmbeddingDistillation.Tests.Training;
using EmbeddingDistillation.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Tests.Networks;

/// <summary>
/// <see cref="ResizedInputNetwork"/>: the wrapped network sees every batch at the wrapper's size, the wrapper is the
/// module the trainer freezes and moves, and a wrapped teacher that sees a larger image than the student is cached.
/// </summary>
public sealed class ResizedInputNetworkTests
{
    [Fact]
    public void EmbedsTheBilinearlyResizedImagesAndPassesTheRightSizeThrough()
    {
        using var scope = NewDisposeScope();
        using var inner = new TinyNetwork(3 * 8 * 8, 16, 6, seed: 4);
        using var wrapped = new ResizedInputNetwork(inner, 8, 8);
        Assert.Equal("tiny@8", wrapped.Name);
        Assert.Equal(6, wrapped.EmbeddingDimension);
        Assert.Equal(inner.TapNames, wrapped.TapNames);
        Assert.Same(inner, wrapped.Inner);

        var small = rand(new long[] { 5, 3, 4, 4 }, generator: new Generator(1));
        using var noGrad = no_grad();
        var expected = inner.Embed(nn.functional.interpolate(small, new long[] { 8, 8 }, mode: InterpolationMode.Bilinear, align_corners: false)).Embedding;
        var got = wrapped.Embed(small, ["body"]);
        Assert.Equal(new long[] { 5, 6 }, got.Embedding.shape);
        Assert.True((got.Embedding - expected).abs().max().item<float>() == 0);
        Assert.Contains("body", got.Features.Keys);

        // The wrapper's own size goes through unchanged (no interpolation).
        var exact = rand(new long[] { 2, 3, 8, 8 }, generator: new Generator(2));
        Assert.True((wrapped.forward(exact) - inner.Embed(exact).Embedding).abs().max().item<float>() == 0);

        var bad = Assert.Throws<ArgumentException>(() => wrapped.Embed(zeros(2, 1, 8, 8)));
        Assert.Contains("tiny@8", bad.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ResizedInputNetwork(inner, 0, 8));
    }

    [Fact]
    public void ExposesTheWrappedParametersUnderItsChildName()
    {
        using var inner = new TinyNetwork(48, 16, 6, seed: 4);
        using var wrapped = new ResizedInputNetwork(inner, 4, 6, name: "teacher");
        Assert.Equal("teacher", wrapped.Name);
        var names = wrapped.named_parameters().Select(p => p.name).ToArray();
        Assert.Equal(inner.named_parameters().Select(p => ResizedInputNetwork.InnerModuleName + "." + p.name), names);
        wrapped.eval();
        Assert.False(inner.training);
        Assert.Equal("tiny@4x6", new ResizedInputNetwork(inner, 4, 6).Name);
    }

    [Fact]
    public void FrozenTeacherAtALargerSizeIsCachedAndUnchanged()
    {
        // The student sees 4x4 blobs, the teacher the same samples upsampled to 8x8.
        var train = new BlobDataset(8, 10, 5);
        var inner = new TinyNetwork(3 * 8 * 8, 32, 8, seed: 2);
        var teacher = new ResizedInputNetwork(inner, 8, 8);
        var before = teacher.parameters().SelectMany(p => p.detach().cpu().data<float>().ToArray()).ToArray();
        var student = new TinyNetwork(48, 8, 8, seed: 3);
        var term = new TestEmbeddingMse();
        var result = new Trainer().Fit(student, TrainingObjective.Distillation(new TestContrastive(), teacher, new WeightedDistillationTerm(term, 1.0)),
            new TrainingData { Train = train, Sampler = new SimplePkSampler(train.Labels, p: 4, k: 4, seed: 3, batches: 6) },
            new TrainingOptions { Epochs = 3, LearningRate = 1e-2, WeightDecay = 0, TeacherView = TeacherView.Clean, CacheTeacherOutputs = true });
        Assert.Equal(18, result.Steps);
        Assert.Equal(before, teacher.parameters().SelectMany(p => p.detach().cpu().data<float>().ToArray()).ToArray());
        Assert.False(teacher.training);
        Assert.All(teacher.parameters(), p => Assert.False(p.requires_grad));
        // Each distinct sample reached the teacher at most once over three epochs.
        Assert.True(inner.EmbeddedImages <= train.Count, $"teacher embedded {inner.EmbeddedImages} images for {train.Count} samples");
    }
}
