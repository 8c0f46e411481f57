using EmbeddingDistillation.Data;
using EmbeddingDistillation.Export;
using EmbeddingDistillation.Losses;
using EmbeddingDistillation.Networks;
using EmbeddingDistillation.Onnx;
using EmbeddingDistillation.Tests.Export;
using EmbeddingDistillation.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Tests.Onnx;

/// <summary>
/// An ONNX teacher made with the library's own exporter from a tiny ResNet-18 (base width 4, small stem, 32 px): it
/// embeds like the TorchSharp network, trains a student with and without the teacher cache, and fails clearly.
/// </summary>
public sealed class OnnxTeacherTests : IDisposable
{
    private const int Size = 32;
    private readonly string dir = Path.Combine(Path.GetTempPath(), "ed-onnx-teacher-" + Guid.NewGuid().ToString("N"));
    private readonly EmbeddingNetwork network;
    private readonly string modelPath;

    public OnnxTeacherTests()
    {
        Directory.CreateDirectory(dir);
        manual_seed(11);
        network = (EmbeddingNetwork)EmbeddingNetworks.Create("resnet18", 16, new EmbeddingNetworkOptions { SmallInputStem = true, BaseWidth = 4 });
        OnnxTestUtil.RandomizeBatchNorm(network, Size, seed: 3);
        network.eval();
        modelPath = Path.Combine(dir, "teacher.onnx");
        OnnxExporter.Export(network, modelPath, new OnnxExportOptions { InputHeight = Size, InputWidth = Size });
    }

    public void Dispose()
    {
        network.Dispose();
        try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public void EmbeddingsEqualTheTorchSharpNetworks()
    {
        using var teacher = new OnnxTeacher(modelPath, new OnnxTeacherOptions { Threads = 1 });
        Assert.Equal("onnx-teacher", teacher.Name);
        Assert.Equal(16, teacher.EmbeddingDimension);
        Assert.Empty(teacher.TapNames);
        Assert.Empty(teacher.Module.parameters());
        Assert.Equal(OnnxExporter.InputName, teacher.InputName);
        Assert.Equal(OnnxExporter.OutputName, teacher.OutputName);
        Assert.Equal((Size, Size), (teacher.InputSize.Height!.Value, teacher.InputSize.Width!.Value));
        Assert.Null(teacher.FixedBatchSize);

        using var scope = NewDisposeScope();
        var images = OnnxTestUtil.Images(5, Size, seed: 21);
        using var expected = network.Embed(images);
        using var actual = teacher.Embed(images);
        Assert.Equal(new long[] { 5, 16 }, actual.Embedding.shape);
        Assert.Equal(ScalarType.Float32, actual.Embedding.dtype);
        Assert.False(actual.Embedding.requires_grad);
        double diff = (actual.Embedding - expected.Embedding).abs().max().item<float>();
        Assert.True(diff <= 1e-5, $"max abs diff {diff:E3}");

        // Chunked runs (MaxBatchSize) and float64 images give the same embeddings, in the images' dtype.
        using var chunked = new OnnxTeacher(modelPath, new OnnxTeacherOptions { Threads = 1, MaxBatchSize = 2 });
        using var fromDouble = chunked.Embed(images.to(ScalarType.Float64));
        Assert.Equal(ScalarType.Float64, fromDouble.Embedding.dtype);
        double chunkDiff = (fromDouble.Embedding.to(ScalarType.Float32) - expected.Embedding).abs().max().item<float>();
        Assert.True(chunkDiff <= 1e-5, $"chunked max abs diff {chunkDiff:E3}");
    }

    [Fact]
    public void ABatchOneModelRunsPerImageOrIsMadeDynamic()
    {
        // The exporter writes a dynamic batch; rewrite it to a fixed batch of 1, as CNTK's and many other exports have it.
        var fixedModel = OnnxBatchDimension.Rewrite(File.ReadAllBytes(modelPath), [OnnxExporter.InputName], 1);
        using var scope = NewDisposeScope();
        var images = OnnxTestUtil.Images(3, Size, seed: 8);
        using var expected = network.Embed(images);

        using var perImage = new OnnxTeacher(fixedModel, new OnnxTeacherOptions { Threads = 1, DynamicBatch = false });
        Assert.Equal(1, perImage.FixedBatchSize);
        Assert.False(perImage.BatchMadeDynamic);
        using var a = perImage.Embed(images);
        Assert.True((a.Embedding - expected.Embedding).abs().max().item<float>() <= 1e-5);

        using var dynamic = new OnnxTeacher(fixedModel, new OnnxTeacherOptions { Threads = 1 });
        Assert.Null(dynamic.FixedBatchSize);
        Assert.True(dynamic.BatchMadeDynamic);
        using var b = dynamic.Embed(images);
        Assert.True((b.Embedding - expected.Embedding).abs().max().item<float>() <= 1e-5);
    }

    [Fact]
    public void PreprocessingUndoesTheSourceNormalisationAndAppliesTheModels()
    {
        // The model wants BGR in 0-255 minus a mean; the images come ImageNet-normalised RGB. Feeding the network the
        // equivalent input directly must give the same embedding.
        float[] mean = [100f, 110f, 120f];
        using var teacher = new OnnxTeacher(File.ReadAllBytes(modelPath), new OnnxTeacherOptions
        {
            Threads = 1,
            SourceMean = ImageNormalization.ImageNetMean, SourceStd = ImageNormalization.ImageNetStd,
            ChannelOrder = OnnxChannelOrder.Bgr, PixelRange = OnnxPixelRange.Byte, Mean = mean, Std = [50f, 60f, 70f],
        });
        Assert.Equal("onnx", teacher.Name);
        using var scope = NewDisposeScope();
        var images = OnnxTestUtil.Images(3, Size, seed: 4);
        var rgb = images * tensor(ImageNormalization.ImageNetStd.ToArray()).reshape(1, 3, 1, 1) + tensor(ImageNormalization.ImageNetMean.ToArray()).reshape(1, 3, 1, 1);
        var modelInput = (rgb.flip(1) * 255 - tensor(mean).reshape(1, 3, 1, 1)) / tensor(new[] { 50f, 60f, 70f }).reshape(1, 3, 1, 1);
        using var expected = network.Embed(modelInput);
        using var actual = teacher.Embed(images);
        double diff = (actual.Embedding - expected.Embedding).abs().max().item<float>();
        Assert.True(diff <= 1e-5, $"max abs diff {diff:E3}");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void TrainsAStudentAsFrozenTeacherWithAndWithoutTheCache(bool cache)
    {
        using var onnx = new OnnxTeacher(modelPath, new OnnxTeacherOptions { Threads = 1 });
        var teacher = new CountingTeacher(onnx);
        var data = SyntheticFineGrainedDataset.Generate(new SyntheticDatasetOptions { ClassCount = 4, ImagesPerClass = 8, ImageSize = Size, Seed = 2 });
        manual_seed(5);
        var student = EmbeddingNetworks.Create("mobilenetv1-0.25", 16, new EmbeddingNetworkOptions { SmallInputStem = true });
        var objective = TrainingObjective.Distillation(new TripletLoss(), teacher,
            new WeightedDistillationTerm(new AbsoluteTeacherLoss(), 1.0),
            new WeightedDistillationTerm(new RelativeTeacherLoss(), 0.3),
            new WeightedDistillationTerm(new RkdDistanceLoss(), 1.0),
            new WeightedDistillationTerm(new RelaxedContrastiveLoss(), 1.0));
        var reports = new List<TrainingProgress>();
        var result = new Trainer().Fit(student, objective,
            new TrainingData { Train = data, Sampler = new ClassBalancedSampler(data.Labels, new ClassBalancedSamplerOptions { ClassesPerBatch = 4, ImagesPerClass = 4 }) },
            new TrainingOptions { MaxSteps = 3, Epochs = 2, LearningRate = 1e-3, TeacherView = TeacherView.Clean, CacheTeacherOutputs = cache },
            new DirectProgress(reports));
        Assert.Equal(3, result.Steps);
        Assert.Equal(3, reports.Count);
        Assert.All(reports, r =>
        {
            Assert.True(double.IsFinite(r.Loss), $"loss {r.Loss}");
            Assert.Equal(5, r.Terms.Count); // triplet + absolute, relative, rkd-distance, relaxed-contrastive
            Assert.All(r.Terms.Values, v => Assert.True(double.IsFinite(v)));
        });
        // Two epochs of 2 batches of 16 over 32 images, cut at 3 steps: the cache embeds each image once.
        Assert.Equal(cache ? 32 : 48, teacher.EmbeddedImages);
    }

    [Fact]
    public void HintAndAttentionTermsFailNamingTheMissingTaps()
    {
        using var teacher = new OnnxTeacher(modelPath, new OnnxTeacherOptions { Threads = 1 });
        using (var scope = NewDisposeScope())
        {
            var e = Assert.Throws<ArgumentException>(() => teacher.Embed(OnnxTestUtil.Images(2, Size, seed: 1), ["layer3"]));
            Assert.Contains("'layer3'", e.Message);
            Assert.Contains("TapNames is empty", e.Message);
        }
        var data = SyntheticFineGrainedDataset.Generate(new SyntheticDatasetOptions { ClassCount = 4, ImagesPerClass = 8, ImageSize = Size, Seed = 2 });
        var student = EmbeddingNetworks.Create("resnet18", 8, new EmbeddingNetworkOptions { SmallInputStem = true, BaseWidth = 4 });
        var objective = TrainingObjective.Distillation(new TripletLoss(), teacher,
            new WeightedDistillationTerm(new AttentionTransferLoss(new TapPair("layer3", "layer3")), 1.0));
        var error = Assert.Throws<ArgumentException>(() => new Trainer().Fit(student, objective,
            new TrainingData { Train = data, Sampler = new ClassBalancedSampler(data.Labels, new ClassBalancedSamplerOptions { ClassesPerBatch = 4, ImagesPerClass = 4 }) },
            new TrainingOptions { MaxSteps = 1, Epochs = 1 }));
        Assert.Contains("teacher tap(s) 'layer3'", error.Message);
        Assert.Contains("onnx-teacher", error.Message);
        Assert.Contains("its taps: none", error.Message);
    }

    [Fact]
    public void WrongInputSizeFailsNamingBothSizesAndTheInput()
    {
        using var teacher = new OnnxTeacher(modelPath, new OnnxTeacherOptions { Threads = 1 });
        using var scope = NewDisposeScope();
        var e = Assert.Throws<ArgumentException>(() => teacher.Embed(OnnxTestUtil.Images(2, 40, seed: 1)));
        Assert.Contains("32x32", e.Message);
        Assert.Contains("40x40", e.Message);
        Assert.Contains($"'{OnnxExporter.InputName}'", e.Message);
        Assert.Contains(modelPath, e.Message);

        // With Resize the batch is resized to the model's size instead.
        using var resizing = new OnnxTeacher(modelPath, new OnnxTeacherOptions { Threads = 1, Resize = true });
        using var output = resizing.Embed(OnnxTestUtil.Images(2, 40, seed: 1));
        Assert.Equal(new long[] { 2, 16 }, output.Embedding.shape);

        var contradiction = Assert.Throws<ArgumentException>(() => new OnnxTeacher(modelPath, new OnnxTeacherOptions { InputHeight = 48 }));
        Assert.Contains("InputHeight = 48", contradiction.Message);
    }

    [Fact]
    public void MissingOutputOrInputFailsNamingItAndTheModelsNames()
    {
        var e = Assert.Throws<ArgumentException>(() => new OnnxTeacher(modelPath, new OnnxTeacherOptions { OutputName = "features" }));
        Assert.Contains("no output 'features'", e.Message);
        Assert.Contains(OnnxExporter.OutputName, e.Message);
        Assert.Contains(modelPath, e.Message);

        var input = Assert.Throws<ArgumentException>(() => new OnnxTeacher(modelPath, new OnnxTeacherOptions { InputName = "pixel_values" }));
        Assert.Contains("no input 'pixel_values'", input.Message);
        Assert.Contains(OnnxExporter.InputName, input.Message);

        var tap = Assert.Throws<ArgumentException>(() => new OnnxTeacher(modelPath, new OnnxTeacherOptions { TapOutputs = new Dictionary<string, string> { ["layer4"] = "layer4_out" } }));
        Assert.Contains("'layer4_out' for tap 'layer4'", tap.Message);

        Assert.Throws<FileNotFoundException>(() => new OnnxTeacher(Path.Combine(dir, "absent.onnx")));
        var bad = Path.Combine(dir, "bad.onnx");
        File.WriteAllBytes(bad, [1, 2, 3, 4]);
        var invalid = Assert.Throws<InvalidDataException>(() => new OnnxTeacher(bad));
        Assert.Contains(bad, invalid.Message);
    }

    [Fact]
    public void CudaWithoutACudaRuntimeFailsClearly()
    {
        var e = Assert.Throws<InvalidOperationException>(() => new OnnxTeacher(modelPath, new OnnxTeacherOptions { ExecutionProvider = OnnxExecutionProvider.Cuda }));
        Assert.Contains("CUDA", e.Message);
        Assert.Contains("Microsoft.ML.OnnxRuntime.Gpu", e.Message);
    }

    [Fact]
    public void GraphOutputsNamedInTapOutputsAreTaps()
    {
        // The exporter writes no intermediate outputs, so the embedding output itself serves as the tap here: only the
        // plumbing is checked (the tap is listed, and returned on request).
        using var teacher = new OnnxTeacher(modelPath, new OnnxTeacherOptions { Threads = 1, TapOutputs = new Dictionary<string, string> { ["final"] = OnnxExporter.OutputName } });
        Assert.Equal(["final"], teacher.TapNames);
        using var scope = NewDisposeScope();
        using var output = teacher.Embed(OnnxTestUtil.Images(2, Size, seed: 1), ["final"]);
        Assert.Equal(new long[] { 2, 16 }, output.Feature("final").shape);
    }
}

internal sealed class DirectProgress(List<TrainingProgress> reports) : IProgress<TrainingProgress>
{
    public void Report(TrainingProgress value) => reports.Add(value);
}

/// <summary>Forwards to a teacher and counts the images it embeds.</summary>
internal sealed class CountingTeacher(IEmbeddingNetwork inner) : IEmbeddingNetwork
{
    public int EmbeddedImages;
    public string Name => inner.Name;
    public int EmbeddingDimension => inner.EmbeddingDimension;
    public IReadOnlyList<string> TapNames => inner.TapNames;
    public nn.Module Module => inner.Module;

    public EmbeddingOutput Embed(Tensor images, IReadOnlyCollection<string>? taps = null)
    {
        EmbeddedImages += (int)images.shape[0];
        return inner.Embed(images, taps);
    }
}
