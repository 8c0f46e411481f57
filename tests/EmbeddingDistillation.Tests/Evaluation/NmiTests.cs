using EmbeddingDistillation.Evaluation;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Tests.Evaluation;

public class NmiTests
{
    [Fact]
    public void PerfectClusteringUnderRenamingIsOne()
    {
        long[] labels = [0, 0, 1, 1, 2, 2, 2];
        long[] clusters = [5, 5, 9, 9, 1, 1, 1];
        Assert.Equal(1.0, Nmi.FromAssignments(clusters, labels), 12);
        Assert.Equal(1.0, Nmi.FromAssignments([3, 3, 3], [4, 4, 4]), 12); // one group each: 1 by convention
    }

    [Fact]
    public void IndependentClusteringIsZero()
    {
        // clusters = i mod 2, labels = (i div 2) mod 2: every (cluster, label) pair equally often.
        var clusters = Enumerable.Range(0, 400).Select(i => (long)(i % 2)).ToArray();
        var labels = Enumerable.Range(0, 400).Select(i => (long)(i / 2 % 2)).ToArray();
        Assert.Equal(0.0, Nmi.FromAssignments(clusters, labels), 12);
    }

    [Fact]
    public void HandComputedHalfInformation()
    {
        // 4 items: labels 0,0,1,1; clusters 0,0,0,1. H(L) = ln 2, H(C) = -(3/4 ln 3/4 + 1/4 ln 1/4),
        // I = sum p(c,l) ln(p(c,l) / (p(c) p(l))) = 1/2 ln((1/2)/(3/4 * 1/2)) + 1/4 ln((1/4)/(3/4 * 1/2)) + 1/4 ln((1/4)/(1/4 * 1/2)).
        var hl = Math.Log(2);
        var hc = -(0.75 * Math.Log(0.75) + 0.25 * Math.Log(0.25));
        var mi = 0.5 * Math.Log(0.5 / 0.375) + 0.25 * Math.Log(0.25 / 0.375) + 0.25 * Math.Log(0.25 / 0.125);
        Assert.Equal(mi / ((hl + hc) / 2), Nmi.FromAssignments([0, 0, 0, 1], [0, 0, 1, 1]), 12);
    }

    [Fact]
    public void MatchesPythonReference()
    {
        var fixture = EvaluationFixture.Load();
        Assert.NotEmpty(fixture.Nmi);
        foreach (var c in fixture.Nmi)
            Assert.True(Math.Abs(c.Nmi - Nmi.FromAssignments(c.Clusters, c.Labels)) < 1e-9, c.Name);
    }

    private static (Tensor Points, Tensor Labels) Blobs(int perClass, int classes, int seed)
    {
        var generator = new Generator((ulong)seed);
        var centres = randn([classes, 6], dtype: ScalarType.Float64, generator: generator) * 20;
        var labels = arange(classes).repeat_interleave(perClass);
        var points = centres.index_select(0, labels) + 0.1 * randn([classes * perClass, 6], dtype: ScalarType.Float64, generator: generator);
        return (points, labels);
    }

    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.Float64)]
    public void KMeansRecoversSeparatedBlobs(ScalarType dtype)
    {
        var (points, labels) = Blobs(12, 5, 1);
        Assert.Equal(1.0, Nmi.Compute(points.to(dtype), labels), 12);
        var clustering = KMeans.Fit(points.to(dtype), 5);
        var labelArray = labels.data<long>().ToArray();
        // Same cluster <=> same label, for every pair.
        for (var i = 0; i < labelArray.Length; i++)
            for (var j = 0; j < labelArray.Length; j++)
                Assert.Equal(labelArray[i] == labelArray[j], clustering.Assignments[i] == clustering.Assignments[j]);
    }

    [Fact]
    public void SameSeedSameClustering()
    {
        // Overlapping data, so that the initialisation matters.
        var points = randn([200, 4], generator: new Generator(9));
        var a = KMeans.Fit(points, 7, new KMeansOptions { Seed = 42 });
        var b = KMeans.Fit(points, 7, new KMeansOptions { Seed = 42, MemoryBudgetBytes = 1 }); // 1-row chunks
        Assert.Equal(a.Assignments, b.Assignments);
        Assert.Equal(a.Iterations, b.Iterations);
        Assert.Equal(a.Inertia, b.Inertia, 3);
        var c = KMeans.Fit(points, 7, new KMeansOptions { Seed = 43 });
        Assert.Equal(200, c.Assignments.Length);
        Assert.All(c.Assignments, x => Assert.InRange(x, 0, 6));
    }

    [Fact]
    public void BadInputThrows()
    {
        Assert.Throws<ArgumentException>(() => Nmi.FromAssignments([0, 1], [0]));
        Assert.Throws<ArgumentException>(() => Nmi.FromAssignments([], []));
        Assert.Throws<ArgumentOutOfRangeException>(() => KMeans.Fit(randn(3, 2), 4));
        var e = Assert.Throws<ArgumentException>(() => Nmi.Compute(randn(4, 2), tensor(new long[] { 0, 1 })));
        Assert.Contains("[4, 2]", e.Message);
    }

    [Fact]
    public void KMeansLeavesNoTensorsBehind()
    {
        var (points, _) = Blobs(5, 3, 2);
        using var scope = NewDisposeScope();
        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        KMeans.Fit(points, 3);
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}
