using EmbeddingDistillation.Export;
using EmbeddingDistillation.Networks;
using TorchSharp;
using TorchSharp.Modules;
using Xunit.Abstractions;
using static EmbeddingDistillation.Tests.Export.OnnxTestUtil;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Tests.Export;

/// <summary>User modules in a <see cref="ModuleBackbone"/>: the standard layers export, anything else fails clearly.</summary>
public class OnnxModuleBackboneTests(ITestOutputHelper output)
{
    /// <summary>Every supported layer kind once, including a BN that follows no conv and a nested Sequential.</summary>
    private static Sequential SupportedLayers() => nn.Sequential(
        ("conv", nn.Conv2d(3, 8, 3, stride: 2, padding: 1, bias: true)),
        ("bn", nn.BatchNorm2d(8)),
        ("act", nn.ReLU6()),
        ("pool", nn.MaxPool2d(3, stride: 2, padding: 1, ceil_mode: true)),
        ("block", nn.Sequential(
            nn.Conv2d(8, 8, 3, padding: Padding.Same, groups: 8, bias: false),
            nn.BatchNorm2d(8),
            nn.Dropout(0.5),
            nn.Identity())),
        ("avg", nn.AvgPool2d(2, count_include_pad: false)),
        ("bn_alone", nn.BatchNorm2d(8)),
        ("proj", nn.Conv2d(8, 12, 1, dilation: 1)),
        ("relu", nn.ReLU()));

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void StandardLayersInUserSequentialsExport(bool fold)
    {
        using var scope = NewDisposeScope();
        using var net = EmbeddingNetworks.FromModule(SupportedLayers(), 12, 8, embeddingDimension: 10);
        RandomizeBatchNorm(net, 37, seed: 11);
        using var stream = new MemoryStream();
        var summary = OnnxExporter.Export(net, stream, new OnnxExportOptions { FoldBatchNorm = fold });
        Assert.Equal(fold ? 1 : 3, summary.OperatorCounts["BatchNormalization"]);

        using var session = Session(stream.ToArray());
        foreach (int size in new[] { 37, 40 }) // odd sizes exercise ceil_mode and padding
        {
            var images = Images(5, size, seed: size);
            var diff = MaxAbsDiff(TorchOutput(net, images), Run(session, images).Values);
            output.WriteLine($"fold={fold} {size}px: max |diff| = {diff:E2}");
            Assert.True(diff <= 1e-4, $"{size}px: max abs diff {diff:E3}");
        }
    }

    [Fact]
    public void UnknownLayerIsNamedWithItsPathAndType()
    {
        using var net = EmbeddingNetworks.FromModule(
            nn.Sequential(
                ("stem", nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU())),
                ("inner", nn.Sequential(nn.Conv2d(8, 8, 1), nn.ReLU(), nn.Conv2d(8, 8, 1), nn.GELU()))),
            8, 1, embeddingDimension: 4);
        var ex = Assert.Throws<NotSupportedException>(() => ExportToBytes(net));
        Assert.Contains("backbone.module.inner.3 (GELU)", ex.Message);
    }

    [Fact]
    public void UserModuleWithItsOwnForwardIsRejected()
    {
        using var net = EmbeddingNetworks.FromModule(new TwoBranch(), 8, 1, embeddingDimension: 4);
        var ex = Assert.Throws<NotSupportedException>(() => ExportToBytes(net));
        Assert.Contains("backbone.module (TwoBranch)", ex.Message);
    }

    [Fact]
    public void BatchNormWithoutRunningStatisticsIsRejected()
    {
        using var net = EmbeddingNetworks.FromModule(
            nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8, track_running_stats: false)), 8, 1, embeddingDimension: 4);
        var ex = Assert.Throws<NotSupportedException>(() => ExportToBytes(net));
        Assert.Contains("backbone.module.1", ex.Message);
        Assert.Contains("running statistics", ex.Message);
    }

    [Fact]
    public void NonZeroPaddingModeIsRejected()
    {
        using var net = EmbeddingNetworks.FromModule(
            nn.Sequential(nn.Conv2d(3, 8, 3, padding: 1, padding_mode: PaddingModes.Reflect)), 8, 1, embeddingDimension: 4);
        var ex = Assert.Throws<NotSupportedException>(() => ExportToBytes(net));
        Assert.Contains("backbone.module.0", ex.Message);
        Assert.Contains("Reflect", ex.Message);
    }

    /// <summary>A user block whose forward the exporter cannot know.</summary>
    private sealed class TwoBranch : nn.Module<Tensor, Tensor>
    {
        private readonly Conv2d a = nn.Conv2d(3, 8, 1);
        private readonly Conv2d b = nn.Conv2d(3, 8, 3, padding: 1);

        public TwoBranch() : base(nameof(TwoBranch)) => RegisterComponents();

        public override Tensor forward(Tensor x) => a.call(x) * b.call(x);
    }
}
