using System.Reflection;
using EmbeddingDistillation.Data;
using EmbeddingDistillation.Export;
using EmbeddingDistillation.Networks;
using Microsoft.ML.OnnxRuntime;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Tests.Onnx;

/// <summary>Where the test finds ML.NET's ResNet18.onnx: the NuGet cache the test project restored into, else <see cref="ImageNetResNet18.FindModelFile"/>.</summary>
internal static class ImageNetResNet18Files
{
    public static string? ModelPath { get; } = Find();

    private static string? Find()
    {
        var root = typeof(ImageNetResNet18Files).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "NuGetPackageRoot")?.Value;
        if (!string.IsNullOrWhiteSpace(root))
        {
            var path = Path.Combine(root, ImageNetResNet18.PackageId.ToLowerInvariant(), ImageNetResNet18.PackageVersion, ImageNetResNet18.PackageModelPath);
            if (File.Exists(path)) return path;
        }
        return ImageNetResNet18.FindModelFile();
    }

    public static string PreprocessPath(string modelPath) =>
        Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(modelPath)!)!, "ResNetPrepOnnx", "ResNetPreprocess.onnx");
}

/// <summary>Runs when the test project's restore put ML.NET's ResNet-18 package into the NuGet cache; skipped (saying why) otherwise.</summary>
public sealed class ImageNetResNet18FactAttribute : FactAttribute
{
    public ImageNetResNet18FactAttribute()
    {
        if (ImageNetResNet18Files.ModelPath is null)
            Skip = $"{ImageNetResNet18.PackageId} {ImageNetResNet18.PackageVersion} is not in the NuGet cache (the test project restores it with a PackageDownload; an offline restore without it skips this test).";
    }
}

/// <summary>
/// The ImageNet ResNet-18 import: ML.NET's ResNet18.onnx (CNTK 2.6) read into the library's backbone gives ONNX
/// Runtime's output on the same 224-px input (one forward pass each).
/// </summary>
public sealed class ImageNetResNet18Tests(ITestOutputHelper output)
{
    private const string OnnxInput = "Input247";
    private const string OnnxOutput = "Pooling395_Output_0";

    [ImageNetResNet18Fact]
    public void ImportedBackboneMatchesOnnxRuntime()
    {
        var path = ImageNetResNet18Files.ModelPath!;
        using var scope = NewDisposeScope();
        // The CNTK input: BGR in 0-255 minus the mean.
        var g = new Generator(7);
        var cntkInput = rand(new long[] { 1, 3, 224, 224 }, generator: g) * 255 - tensor(ImageNetResNet18.ChannelMeanBgr.ToArray()).reshape(1, 3, 1, 1);
        var expected = RunOnnx(path, cntkInput);                                        // [1, 512]

        using var raw = ImageNetResNet18.Load(512, new ImageNetResNet18Options { ModelPath = path, Input = ImageNetResNet18Input.Cntk });
        Assert.Equal("resnet18-cntk-512", raw.Name);
        Assert.Equal(["stem", "layer1", "layer2", "layer3", "layer4"], raw.TapNames);
        Assert.False(raw.training);
        using var noGrad = no_grad();
        using var rawOut = raw.Embed(cntkInput, ["layer4"]);
        var pooled = rawOut.Feature("layer4").mean(new long[] { 2, 3 });
        Assert.Equal(new long[] { 1, 512, 7, 7 }, rawOut.Feature("layer4").shape);
        double diff = (pooled - expected).abs().max().item<float>();
        double scale = expected.abs().max().item<float>();
        output.WriteLine($"max |TorchSharp - ONNX Runtime| over the 512 pooled features: {diff:E3} (largest feature {scale:F3})");
        Assert.True(diff <= 1e-4, $"max abs diff {diff:E3}");
        // Identity head: the embedding is the L2-normalised pooled feature.
        var normalised = nn.functional.normalize(expected, p: 2, dim: 1);
        Assert.True((rawOut.Embedding - normalised).abs().max().item<float>() <= 1e-5);

        // The default network takes ImageNet-normalised RGB and adapts it exactly.
        using var net = ImageNetResNet18.Load(512, new ImageNetResNet18Options { ModelPath = path });
        var rgb01 = (cntkInput + tensor(ImageNetResNet18.ChannelMeanBgr.ToArray()).reshape(1, 3, 1, 1)).flip(1) / 255;
        var normalizedInput = (rgb01 - tensor(ImageNormalization.ImageNetMean.ToArray()).reshape(1, 3, 1, 1)) / tensor(ImageNormalization.ImageNetStd.ToArray()).reshape(1, 3, 1, 1);
        using var netOut = net.Embed(normalizedInput, ["layer4"]);
        double adapted = (netOut.Feature("layer4").mean(new long[] { 2, 3 }) - expected).abs().max().item<float>();
        output.WriteLine($"same through the ImageNet-normalised RGB adapter: {adapted:E3}");
        Assert.True(adapted <= 1e-4, $"adapter max abs diff {adapted:E3}");
    }

    [ImageNetResNet18Fact]
    public void AsAnOnnxTeacherTheBatchOneFileIsMadeDynamicAndAgreesWithTheImport()
    {
        // ResNet18.onnx has a fixed batch of 1: the ONNX teacher makes it dynamic (checked at load). Its preprocessing options
        // (ImageNet-normalised RGB in; BGR, 0-255, minus the channel means out) match the import's adapter.
        var path = ImageNetResNet18Files.ModelPath!;
        using var teacher = new EmbeddingDistillation.Onnx.OnnxTeacher(path, new EmbeddingDistillation.Onnx.OnnxTeacherOptions
        {
            Threads = 1,
            SourceMean = ImageNormalization.ImageNetMean, SourceStd = ImageNormalization.ImageNetStd,
            ChannelOrder = EmbeddingDistillation.Onnx.OnnxChannelOrder.Bgr, PixelRange = EmbeddingDistillation.Onnx.OnnxPixelRange.Byte,
            Mean = ImageNetResNet18.ChannelMeanBgr,
        });
        Assert.Null(teacher.FixedBatchSize);
        Assert.True(teacher.BatchMadeDynamic);
        Assert.Equal(OnnxInput, teacher.InputName);
        Assert.Equal(OnnxOutput, teacher.OutputName);
        Assert.Equal(512, teacher.EmbeddingDimension);
        using var net = ImageNetResNet18.Load(512, new ImageNetResNet18Options { ModelPath = path });
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var images = randn(new long[] { 2, 3, 224, 224 }, generator: new Generator(3));
        using var fromOnnx = teacher.Embed(images);
        using var fromTorch = net.Embed(images);
        double diff = (fromOnnx.Embedding - fromTorch.Embedding).abs().max().item<float>();
        output.WriteLine($"OnnxTeacher(ResNet18.onnx) vs ImageNetResNet18, L2-normalised embeddings of 2 images: {diff:E3}");
        Assert.True(diff <= 1e-5, $"max abs diff {diff:E3}");
    }

    [ImageNetResNet18Fact]
    public void AnotherModelFailsNamingWhatDiffers()
    {
        var prep = ImageNetResNet18Files.PreprocessPath(ImageNetResNet18Files.ModelPath!);
        var e = Assert.Throws<InvalidDataException>(() => ImageNetResNet18.Load(options: new ImageNetResNet18Options { ModelPath = prep }));
        Assert.Contains(prep, e.Message);
        Assert.Contains("0 Conv", e.Message);
    }

    [Fact]
    public void AMissingFileFailsNamingItAndThePackage()
    {
        var missing = Path.Combine(Path.GetTempPath(), "no-such-dir", "ResNet18.onnx");
        var e = Assert.Throws<FileNotFoundException>(() => ImageNetResNet18.Load(options: new ImageNetResNet18Options { ModelPath = missing }));
        Assert.Contains(missing, e.Message);
    }

    [Fact]
    public void TheCntkLayoutRefusesOnnxExport()
    {
        // Structure only (no weights): the exporter cannot write CNTK's asymmetric padding yet and says so.
        var backbone = new ResNetBackbone(18, 4, false, new ResNetLayout(ImageNetResNet18.BackboneName, [2, 2, 2, 3], true, null));
        using var network = new EmbeddingNetwork("resnet18-cntk-8", backbone, 8);
        var e = Assert.Throws<NotSupportedException>(() => OnnxExporter.Export(network, new MemoryStream()));
        Assert.Contains("resnet18-cntk", e.Message);
        // At odd sizes CNTK's padding differs from torchvision's: 225 px gives a 56x56 stem map (torchvision's padding: 57x57).
        using var scope = NewDisposeScope();
        network.eval();
        using var noGrad = no_grad();
        using var o = network.Embed(randn(1, 3, 225, 225), ["stem"]);
        Assert.Equal(new long[] { 1, 4, 56, 56 }, o.Feature("stem").shape);
    }

    private static Tensor RunOnnx(string path, Tensor input)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1 };
        using var session = new InferenceSession(path, options);
        var data = input.contiguous().data<float>().ToArray();
        using var value = OrtValue.CreateTensorValueFromMemory(data, input.shape);
        using var runOptions = new RunOptions();
        using var results = session.Run(runOptions, new[] { OnnxInput }, new[] { value }, new[] { OnnxOutput });
        var result = results[0];
        Assert.Equal(new long[] { 1, 512, 1, 1 }, result.GetTensorTypeAndShape().Shape);
        return tensor(result.GetTensorDataAsSpan<float>().ToArray()).reshape(1, 512);
    }
}
