using EmbeddingDistillation.Export;
using EmbeddingDistillation.Networks;
using static EmbeddingDistillation.Tests.Export.OnnxTestUtil;

namespace EmbeddingDistillation.Tests.Export;

public class OnnxExportOptionsTests
{
    private static EmbeddingNetwork Tiny() =>
        EmbeddingNetworks.MobileNetV1(0.25, 8, new EmbeddingNetworkOptions { SmallInputStem = true });

    [Theory]
    [InlineData(10)]
    [InlineData(22)]
    public void OpsetOutOfRangeIsRejected(int opset)
    {
        using var net = Tiny();
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => ExportToBytes(net, new OnnxExportOptions { Opset = opset }));
        Assert.Contains("Opset", ex.Message);
    }

    [Fact]
    public void NonPositiveInputSizeIsRejected()
    {
        using var net = Tiny();
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => ExportToBytes(net, new OnnxExportOptions { InputHeight = 0 }));
        Assert.Contains("InputHeight", ex.Message);
    }

    [Fact]
    public void ReadOnlyStreamIsRejected()
    {
        using var net = Tiny();
        using var stream = new MemoryStream(new byte[16], writable: false);
        Assert.Throws<ArgumentException>(() => OnnxExporter.Export(net, stream));
    }

    [Fact]
    public void MetadataNamesProducerGraphAndNetwork()
    {
        using var net = Tiny();
        using var session = Session(ExportToBytes(net, new OnnxExportOptions { GraphName = "student" }));
        var meta = session.ModelMetadata;
        Assert.Equal(OnnxExporter.ProducerName, meta.ProducerName);
        Assert.Equal("student", meta.GraphName);
        Assert.Contains(net.Name, meta.Description);
        Assert.Equal(new[] { -1, 8 }, session.OutputMetadata[OnnxExporter.OutputName].Dimensions);
    }

    [Theory]
    [InlineData(11, 6)]
    [InlineData(13, 7)]
    [InlineData(17, 8)]
    [InlineData(18, 8)]
    [InlineData(19, 9)]
    [InlineData(21, 10)]
    public void IrVersionFollowsTheOpset(int opset, long ir) => Assert.Equal(ir, OnnxExporter.IrVersionFor(opset));
}

public class OnnxExportLeakTests
{
    [Fact]
    public void ExportLeavesNoLiveTensors()
    {
        using var net = EmbeddingNetworks.ResNet18(8, new EmbeddingNetworkOptions { BaseWidth = 4 });
        ExportToBytes(net); // warm-up
        var before = TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        ExportToBytes(net, new OnnxExportOptions { FoldBatchNorm = false });
        ExportToBytes(net);
        Assert.Equal(before, TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}
