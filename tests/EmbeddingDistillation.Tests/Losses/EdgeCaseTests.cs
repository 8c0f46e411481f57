using EmbeddingDistillation.Losses;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Tests.Losses;

/// <summary>Degenerate batches, bad input, dtypes and devices for every loss.</summary>
public class EdgeCaseTests
{
    private static void AssertFinite(Tensor t, string what) =>
        Assert.True(torch.isfinite(t).all().item<bool>(), $"{what} has non-finite entries");

    [Theory]
    [MemberData(nameof(LossCatalog.DistillationNames), MemberType = typeof(LossCatalog))]
    public void IdenticalEmbeddingsGiveFiniteValuesAndGradients(string name)
    {
        using var scope = torch.NewDisposeScope();
        using var loss = LossCatalog.Create(name, 4, ScalarType.Float32);
        // Every student row equal, and every teacher row equal: zero distances everywhere.
        var s = torch.ones(5, 4).mul(0.3f).requires_grad_(true);
        var t = torch.ones(5, LossCatalog.TeacherDim(name, 4)).mul(0.7f);
        var v = loss.forward(s, t);
        v.backward();
        AssertFinite(v, $"{name} value");
        AssertFinite(s.grad!, $"{name} gradient");
        // Student equal to teacher row by row (where dimensions allow): the same must hold.
        var s2 = torch.randn(5, 4).requires_grad_(true);
        var t2 = LossCatalog.TeacherDim(name, 4) == 4 ? s2.detach().clone() : torch.cat(new[] { s2.detach(), torch.zeros(5, 2) }, 1);
        var v2 = loss.forward(s2, t2);
        v2.backward();
        AssertFinite(v2, $"{name} value (s = t)");
        AssertFinite(s2.grad!, $"{name} gradient (s = t)");
    }

    [Theory]
    [MemberData(nameof(LossCatalog.MetricNames), MemberType = typeof(LossCatalog))]
    public void IdenticalEmbeddingsGiveFiniteMetricGradients(string name)
    {
        using var scope = torch.NewDisposeScope();
        using var loss = LossCatalog.Create(name, 4, ScalarType.Float32);
        var x = torch.ones(8, 4).mul(0.5f).requires_grad_(true);
        var v = loss.forward(x, torch.tensor(new long[] { 0, 0, 1, 1, 2, 2, 3, 3 }));
        v.backward();
        AssertFinite(v, $"{name} value");
        AssertFinite(x.grad!, $"{name} gradient");
    }

    [Theory]
    [MemberData(nameof(LossCatalog.MetricNames), MemberType = typeof(LossCatalog))]
    public void OneClassAndSingletonBatchesGiveDefinedValues(string name)
    {
        using var scope = torch.NewDisposeScope();
        using var loss = LossCatalog.Create(name, 4, ScalarType.Float64);
        foreach (var labels in new[] { new long[] { 2, 2, 2, 2, 2 }, new long[] { 0, 1, 2, 3, 1 }, new long[] { 0, 1, 2, 3 }, new long[] { 1 } })
        {
            var x = torch.randn(labels.Length, 4, dtype: ScalarType.Float64).requires_grad_(true);
            var v = loss.forward(x, torch.tensor(labels));
            v.backward();
            AssertFinite(v, $"{name} value for labels [{string.Join(",", labels)}]");
            AssertFinite(x.grad!, $"{name} gradient for labels [{string.Join(",", labels)}]");
        }
    }

    [Theory]
    [InlineData(TripletMining.BatchHard)]
    [InlineData(TripletMining.SemiHard)]
    [InlineData(TripletMining.BatchAll)]
    public void TripletWithoutValidTripletIsConnectedZero(TripletMining mining)
    {
        using var scope = torch.NewDisposeScope();
        using var loss = new TripletLoss(0.3, mining);
        foreach (var labels in new[] { new long[] { 5, 5, 5, 5 }, new long[] { 0, 1, 2, 3 } })
        {
            var x = torch.randn(4, 3).requires_grad_(true);
            var v = loss.forward(x, torch.tensor(labels));
            Assert.Equal(0.0, v.item<float>());
            Assert.True(v.requires_grad);
            v.backward();
            Assert.Equal(0.0, x.grad!.abs().sum().item<float>());
        }
    }

    [Fact]
    public void TripletExcludesAnchorsWithoutPositive()
    {
        using var scope = torch.NewDisposeScope();
        // Anchor 2 is a singleton: batch-hard must average over anchors 0, 1, 3, 4 only.
        var x = torch.tensor(new double[,] { { 0, 0 }, { 1, 0 }, { 0, 3 }, { 0, 1 }, { 2, 0 } });
        var y = torch.tensor(new long[] { 0, 0, 9, 1, 1 });
        using var loss = new TripletLoss(1.0);
        // d(0,1)=1, d(0,3)=1, d(0,4)=2 -> a0: relu(1 - 1 + 1) = 1 ; a1: pos d=1, neg min(d(1,3)=sqrt2, d(1,4)=1, d(1,2)=sqrt10) = 1 -> 1
        // a3: pos d(3,4)=sqrt5, neg min(d(3,0)=1, d(3,1)=sqrt2, d(3,2)=2) = 1 -> sqrt5 ; a4: pos sqrt5, neg min(2, 1, sqrt13) = 1 -> sqrt5
        var expected = (1 + 1 + 2 * Math.Sqrt(5)) / 4;
        Assert.Equal(expected, loss.forward(x, y).item<double>(), 9);
    }

    [Fact]
    public void MismatchedShapesNameTheShapes()
    {
        using var scope = torch.NewDisposeScope();
        var e1 = Assert.Throws<ArgumentException>(() => new AbsoluteTeacherLoss().forward(torch.randn(4, 8), torch.randn(4, 16)));
        Assert.Contains("[4, 8]", e1.Message);
        Assert.Contains("[4, 16]", e1.Message);
        var e2 = Assert.Throws<ArgumentException>(() => new RelativeTeacherLoss().forward(torch.randn(4, 8), torch.randn(5, 8)));
        Assert.Contains("[5, 8]", e2.Message);
        var e3 = Assert.Throws<ArgumentException>(() => new TripletLoss().forward(torch.randn(4, 8), torch.tensor(new long[] { 0, 1, 0 })));
        Assert.Contains("[3]", e3.Message);
        var e4 = Assert.Throws<ArgumentException>(() => new HintLoss(3, 5).forward(torch.randn(2, 4, 3, 3), torch.randn(2, 5, 3, 3)));
        Assert.Contains("[2, 4, 3, 3]", e4.Message);
        var e5 = Assert.Throws<ArgumentException>(() => new AttentionTransferLoss().forward(torch.randn(2, 4, 3), torch.randn(2, 5, 3, 3)));
        Assert.Contains("[2, 4, 3]", e5.Message);
        var e6 = Assert.Throws<ArgumentException>(() => new ProxyAnchorLoss(new ProxyAnchorLossOptions { ClassCount = 3, EmbeddingDimension = 4 }).forward(torch.randn(2, 4), torch.tensor(new long[] { 0, 3 })));
        Assert.Contains("[0, 3)", e6.Message);
        var e7 = Assert.Throws<ArgumentException>(() => new TripletLoss().forward(torch.randn(2, 4), torch.tensor(new float[] { 0, 1 })));
        Assert.Contains("integer", e7.Message);
    }

    [Fact]
    public void MismatchedDtypesAreRejected()
    {
        using var scope = torch.NewDisposeScope();
        var e = Assert.Throws<ArgumentException>(() => new RelativeTeacherLoss().forward(torch.randn(4, 8), torch.randn(4, 8, dtype: ScalarType.Float64)));
        Assert.Contains("Float64", e.Message);
        Assert.Throws<ArgumentException>(() => new RkdAngleLoss().forward(torch.randn(4, 8), torch.randn(4, 8).to_type(ScalarType.Int32)));
        // A float64 proxy-anchor loss used with float32 embeddings: named, not a native error.
        using var pa = new ProxyAnchorLoss(new ProxyAnchorLossOptions { ClassCount = 2, EmbeddingDimension = 4 });
        pa.to(ScalarType.Float64);
        Assert.Throws<ArgumentException>(() => pa.forward(torch.randn(2, 4), torch.tensor(new long[] { 0, 1 })));
    }

    [Fact]
    public void EmptyInputIsRejected()
    {
        using var scope = torch.NewDisposeScope();
        foreach (var name in LossCatalog.Distillation)
        {
            using var loss = LossCatalog.Create(name, 4, ScalarType.Float32);
            var e = Assert.Throws<ArgumentException>(() => loss.forward(torch.zeros(0, 4), torch.zeros(0, LossCatalog.TeacherDim(name, 4))));
            Assert.Contains("empty", e.Message);
        }
        foreach (var name in LossCatalog.Metric)
        {
            using var loss = LossCatalog.Create(name, 4, ScalarType.Float32);
            var e = Assert.Throws<ArgumentException>(() => loss.forward(torch.zeros(0, 4), torch.zeros(0, dtype: ScalarType.Int64)));
            Assert.Contains("empty", e.Message);
        }
        Assert.Throws<ArgumentException>(() => new AttentionTransferLoss().forward(torch.zeros(0, 3, 2, 2), torch.zeros(0, 3, 2, 2)));
        // Relational losses need a pair.
        Assert.Throws<ArgumentException>(() => new RkdDistanceLoss().forward(torch.zeros(1, 4), torch.zeros(1, 4)));
    }

    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.Float64)]
    public void EveryLossWorksInFloat32AndFloat64OnTheInputDevice(ScalarType dtype)
    {
        using var scope = torch.NewDisposeScope();
        var device = torch.CPU;
        foreach (var name in LossCatalog.Distillation)
        {
            using var loss = LossCatalog.Create(name, 4, dtype);
            var s = torch.randn(6, 4, dtype: dtype, device: device).requires_grad_(true);
            var v = loss.forward(s, torch.randn(6, LossCatalog.TeacherDim(name, 4), dtype: dtype, device: device));
            Assert.Equal(dtype, v.dtype);
            Assert.Equal(device.type, v.device_type);
            v.backward();
            Assert.Equal(dtype, s.grad!.dtype);
        }
        foreach (var name in LossCatalog.Maps)
        {
            using var loss = LossCatalog.Create(name, 0, dtype);
            var v = loss.forward(torch.randn(2, 3, 4, 4, dtype: dtype, device: device), torch.randn(2, 5, 4, 4, dtype: dtype, device: device));
            Assert.Equal(dtype, v.dtype);
            Assert.Equal(device.type, v.device_type);
        }
        foreach (var name in LossCatalog.Metric)
        {
            using var loss = LossCatalog.Create(name, 4, dtype);
            var v = loss.forward(torch.randn(8, 4, dtype: dtype, device: device), torch.arange(8, device: device) % 4);
            Assert.Equal(dtype, v.dtype);
            Assert.Equal(device.type, v.device_type);
        }
    }

    [Fact]
    public void LossesLeakNoTensors()
    {
        using var loss = new RelativeTeacherLoss();
        using var triplet = new TripletLoss();
        using var outer = torch.NewDisposeScope();
        var s = torch.randn(8, 4);
        var t = torch.randn(8, 6);
        var y = torch.arange(8) % 4;
        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (var i = 0; i < 3; i++)
        {
            using var step = torch.NewDisposeScope();
            _ = loss.forward(s, t) + triplet.forward(s, y);
        }
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}
