using EmbeddingDistillation.Export;
using EmbeddingDistillation.Networks;
using TorchSharp;
using TorchSharp.Modules;
using Xunit.Abstractions;
using static EmbeddingDistillation.Tests.Export.OnnxTestUtil;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Tests.Export;

public class OnnxExporterTests(ITestOutputHelper output)
{
    public static TheoryData<string, bool, bool, int> Families => new()
    {
        { "resnet18", true, true, 32 },
        { "resnet18", false, false, 64 },
        { "resnet50", false, true, 64 },
        { "resnet50", true, false, 32 },
        { "mobilenetv1-0.25", true, true, 32 },
        { "mobilenetv1-0.25", false, false, 64 },
        { "mobilenetv2-0.5", false, true, 64 },
        { "mobilenetv2-0.5", true, false, 32 },
    };

    private static EmbeddingNetwork Build(string family, bool smallStem, bool normalize, int dim = 24) =>
        EmbeddingNetworks.Create(family, dim, new EmbeddingNetworkOptions { BaseWidth = 8, SmallInputStem = smallStem, Normalize = normalize });

    /// <summary>
    /// Exports with folded BN and compares ONNX Runtime with TorchSharp's eval-mode output for batches 1 and 7
    /// from the same model (dynamic batch). The network stays in train mode during export: the export must have
    /// eval semantics anyway and must not change the mode.
    /// </summary>
    [Theory]
    [MemberData(nameof(Families))]
    public void OnnxRuntimeReproducesTorchSharp(string family, bool smallStem, bool normalize, int size)
    {
        using var scope = NewDisposeScope();
        using var net = Build(family, smallStem, normalize);
        RandomizeBatchNorm(net, size, seed: 1);
        Assert.True(net.training);
        var model = ExportToBytes(net);
        Assert.True(net.training);

        using var session = Session(model);
        foreach (int batch in new[] { 1, 7 })
        {
            var images = Images(batch, size, seed: 10 + batch);
            var expected = TorchOutput(net, images);
            var (actual, shape) = Run(session, images);
            Assert.Equal(new[] { batch, 24 }, shape);
            double diff = normalize ? MaxAbsDiff(expected, actual) : MaxAbsDiff(NormalizeRows(expected, 24), NormalizeRows(actual, 24));
            double scale = expected.Max(Math.Abs);
            output.WriteLine($"{family} smallStem={smallStem} normalize={normalize} {size}px batch {batch}: max |diff| (normalised) = {diff:E2}, max |e| = {scale:G4}");
            Assert.True(diff <= 1e-4, $"{family} batch {batch}: max abs diff {diff:E3}");
            if (!normalize)
            {
                double raw = MaxAbsDiff(expected, actual);
                Assert.True(raw <= 1e-4 * Math.Max(1, scale), $"{family} batch {batch}: raw max abs diff {raw:E3} at scale {scale}");
            }
        }
    }

    [Theory]
    [InlineData("resnet18", 11)]
    [InlineData("mobilenetv2-0.5", 17)]
    [InlineData("resnet50", 18)]
    [InlineData("mobilenetv1-0.25", 21)]
    public void UnfoldedBatchNormAndOtherOpsetsMatch(string family, int opset)
    {
        using var scope = NewDisposeScope();
        using var net = Build(family, smallStem: true, normalize: true);
        RandomizeBatchNorm(net, 32, seed: 2);
        using var stream = new MemoryStream();
        var summary = OnnxExporter.Export(net, stream, new OnnxExportOptions { FoldBatchNorm = false, Opset = opset });

        Assert.Equal(opset, summary.Opset);
        Assert.Equal(OnnxExporter.IrVersionFor(opset), summary.IrVersion);
        Assert.Equal(CountModules<BatchNorm2d>(net), summary.OperatorCounts["BatchNormalization"]);
        Assert.Equal(CountModules<Conv2d>(net), summary.OperatorCounts["Conv"]);
        Assert.Equal(stream.Length, summary.Bytes);

        using var session = Session(stream.ToArray());
        var images = Images(7, 32, seed: 3);
        var diff = MaxAbsDiff(TorchOutput(net, images), Run(session, images).Values);
        output.WriteLine($"{family} opset {opset} unfolded BN: max |diff| = {diff:E2}");
        Assert.True(diff <= 1e-4, $"max abs diff {diff:E3}");
    }

    [Fact]
    public void FoldingRemovesBatchNormAndKeepsOneConvPerConv2d()
    {
        using var net = Build("mobilenetv2-0.5", smallStem: false, normalize: true);
        using var stream = new MemoryStream();
        var summary = OnnxExporter.Export(net, stream);
        Assert.False(summary.OperatorCounts.ContainsKey("BatchNormalization"));
        Assert.Equal(CountModules<Conv2d>(net), summary.OperatorCounts["Conv"]);
        Assert.Equal(10, summary.OperatorCounts["Add"]); // MobileNetV2's residual blocks
        Assert.Equal(OnnxExporter.DefaultOpset, summary.Opset);
        Assert.Equal(8, summary.IrVersion);
        long parameters = net.parameters().Sum(p => p.numel());
        // Folding drops BN's gamma/beta and adds a bias per conv output channel; plus the scalar constants
        // 0 and 6 (ReLU6 as Clip) and 1e-12 (the normalisation's eps).
        long convBiases = net.named_modules().Where(m => m.module is Conv2d).Sum(m => ((Conv2d)m.module).out_channels);
        Assert.Equal(parameters - 2 * net.named_modules().Where(m => m.module is BatchNorm2d).Sum(m => ((BatchNorm2d)m.module).num_features) + convBiases + 3,
            summary.WeightCount);
    }

    [Fact]
    public void FileExportWithFixedSizeRejectsOtherSizes()
    {
        using var scope = NewDisposeScope();
        using var net = Build("mobilenetv1-0.25", smallStem: true, normalize: true);
        RandomizeBatchNorm(net, 32, seed: 4);
        var folder = Path.Combine(Path.GetTempPath(), $"onnx-export-{Guid.NewGuid():N}");
        try
        {
            var path = Path.Combine(folder, "sub", "student.onnx");
            OnnxExporter.Export(net, path, new OnnxExportOptions { InputHeight = 32, InputWidth = 32 });
            Assert.Single(Directory.GetFiles(Path.GetDirectoryName(path)!)); // no temporary file left
            using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(path);
            Assert.Equal(new[] { -1, 3, 32, 32 }, session.InputMetadata[OnnxExporter.InputName].Dimensions);
            Assert.Equal(new[] { -1, 24 }, session.OutputMetadata[OnnxExporter.OutputName].Dimensions);
            var images = Images(2, 32, seed: 5);
            Assert.True(MaxAbsDiff(TorchOutput(net, images), Run(session, images).Values) <= 1e-4);
            Assert.ThrowsAny<Microsoft.ML.OnnxRuntime.OnnxRuntimeException>(() => Run(session, Images(2, 40, seed: 6)));
        }
        finally
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void DynamicSizeAcceptsAnySize()
    {
        using var scope = NewDisposeScope();
        using var net = Build("resnet18", smallStem: false, normalize: true);
        RandomizeBatchNorm(net, 64, seed: 7);
        using var session = Session(ExportToBytes(net));
        Assert.Equal(new[] { -1, 3, -1, -1 }, session.InputMetadata[OnnxExporter.InputName].Dimensions);
        foreach (int size in new[] { 48, 80 })
        {
            var images = Images(3, size, seed: size);
            Assert.True(MaxAbsDiff(TorchOutput(net, images), Run(session, images).Values) <= 1e-4, $"size {size}");
        }
    }

    [Fact]
    public void Float64NetworkExportsAsFloat32()
    {
        using var scope = NewDisposeScope();
        using var net = Build("mobilenetv1-0.25", smallStem: true, normalize: true);
        net.to(ScalarType.Float64);
        RandomizeBatchNorm(net, 32, seed: 8);
        using var session = Session(ExportToBytes(net));
        var images = Images(4, 32, seed: 9, ScalarType.Float64);
        var diff = MaxAbsDiff(TorchOutput(net, images), Run(session, images).Values);
        Assert.True(diff <= 1e-4, $"max abs diff {diff:E3}");
        Assert.Equal(ScalarType.Float64, net.parameters().First().dtype);
    }
}
