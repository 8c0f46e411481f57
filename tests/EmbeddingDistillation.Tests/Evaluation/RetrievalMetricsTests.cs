using EmbeddingDistillation.Evaluation;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Tests.Evaluation;

public class RetrievalMetricsTests
{
    // Six points on a line: x = 0, 1, 3, 4, 10, 12 with labels 0, 0, 1, 1, 0, 1 (every R = 2).
    // Nearest others (relevant marked *):
    //   p0: p1* p2 p3 p4* p5    p1: p0* p2 p3 p4* p5    p2: p3* p1 p0 p4 p5*
    //   p3: p2* p1 p0 p4 p5*    p4: p5 p3 p2 p1* p0*    p5: p4 p3* p2* p1 p0
    // Recall@1 = 4/6, @2 = 5/6 (p5), @4 = 1 (p4's first hit at rank 4).
    // R-Precision: 1/2 for p0..p3 and p5, 0 for p4 -> 5/12.  AP@R: 1/2 for p0..p3, 0 for p4, (1/2)(1/2) for p5 -> 0.375.
    private static (Tensor X, Tensor Labels) Line(ScalarType dtype)
    {
        var x = tensor(new double[] { 0, 0, 1, 0, 3, 0, 4, 0, 10, 0, 12, 0 }, dtype: dtype).view(6, 2);
        return (x, tensor(new long[] { 0, 0, 1, 1, 0, 1 }));
    }

    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.Float64)]
    public void HandComputedLine(ScalarType dtype)
    {
        var (x, labels) = Line(dtype);
        var recall = RetrievalMetrics.RecallAtK(x, labels, 1, 2, 3, 4);
        Assert.Equal(4.0 / 6, recall[1], 12);
        Assert.Equal(5.0 / 6, recall[2], 12);
        Assert.Equal(5.0 / 6, recall[3], 12);
        Assert.Equal(1.0, recall[4], 12);
        Assert.Equal(0.375, RetrievalMetrics.MapAtR(x, labels), 12);
        Assert.Equal(5.0 / 12, RetrievalMetrics.RPrecision(x, labels), 12);
    }

    [Fact]
    public void EvaluateMatchesTheSingleMetricsAndClipsK()
    {
        var (x, labels) = Line(ScalarType.Float32);
        var all = RetrievalMetrics.Evaluate(x, labels, RecallPresets.Sop);
        Assert.Equal(4.0 / 6, all.RecallAtK[1], 12);
        Assert.Equal(1.0, all.RecallAtK[10], 12);   // K = 10 > N - 1 = 5: clipped, "among all others"
        Assert.Equal(1.0, all.RecallAtK[1000], 12);
        Assert.Equal(0.375, all.MapAtR, 12);
        Assert.Equal(5.0 / 12, all.RPrecision, 12);
        Assert.Equal(6, all.QueryCount);
        Assert.Equal(6, all.QueriesWithRelevant);
        var preset = RetrievalMetrics.RecallAtK(x, labels, RecallPresets.Quickstart);
        Assert.Equal(new[] { 1, 2, 4, 8 }, preset.Keys.Order().ToArray());
        Assert.Equal(5.0 / 6, preset[2], 12);
    }

    [Fact]
    public void QueriesWithoutRelevantItemsAreExcludedFromMapButMissInRecall()
    {
        // p2 is the only item of label 7: it misses Recall@K and does not enter MAP@R / R-Precision.
        var x = tensor(new double[] { 0, 1, 2, 5 }).view(4, 1);
        var labels = tensor(new long[] { 0, 0, 7, 0 });
        var result = RetrievalMetrics.Evaluate(x, labels, [1]);
        // p0: p1* (R=2, AP = (1 + 0)/2 since p3 is 3rd: p1, p2, p3 -> AP = (1/2)(1 + 0) = 0.5)
        // p1: p0* p2 p3* -> Recall@1 hit; R = 2, top2 = p0*, p2 -> AP 0.5, RP 0.5
        // p3: p2 p1* p0* -> miss; R = 2, top2 = p2, p1* -> AP (1/2)(1/2) = 0.25, RP 0.5
        Assert.Equal(2.0 / 4, result.RecallAtK[1], 12);
        Assert.Equal(3, result.QueriesWithRelevant);
        Assert.Equal((0.5 + 0.5 + 0.25) / 3, result.MapAtR, 12);
        Assert.Equal((0.5 + 0.5 + 0.5) / 3, result.RPrecision, 12);
    }

    [Fact]
    public void QueryGalleryMode()
    {
        // Gallery x = 0 (L0), 5 (L1), 6 (L0); query x = 4 (L0): neighbours 5 (L1), 6 (L0), 0 (L0); R = 2.
        var gallery = tensor(new float[] { 0, 5, 6 }).view(3, 1);
        var query = tensor(new float[] { 4 }).view(1, 1);
        var result = RetrievalMetrics.Evaluate(query, tensor(new long[] { 0 }), gallery, tensor(new long[] { 0, 1, 0 }), [1, 2, 5]);
        Assert.Equal(0.0, result.RecallAtK[1]);
        Assert.Equal(1.0, result.RecallAtK[2]);
        Assert.Equal(1.0, result.RecallAtK[5]);  // clipped to the gallery size 3
        Assert.Equal(0.25, result.MapAtR, 12);
        Assert.Equal(0.5, result.RPrecision, 12);
    }

    [Fact]
    public void MatchesPythonReference()
    {
        var fixture = EvaluationFixture.Load();
        Assert.NotEmpty(fixture.Retrieval);
        foreach (var c in fixture.Retrieval)
        {
            using var scope = NewDisposeScope();
            var x = c.Embeddings();
            var labels = tensor(c.Labels);
            foreach (var dtype in new[] { ScalarType.Float64, ScalarType.Float32 })
            {
                // float32 rounding can swap near-equal distances of the random cases: compare those in float64 only.
                if (dtype == ScalarType.Float32 && !c.Name.StartsWith("integer", StringComparison.Ordinal)) continue;
                var xd = x.to(dtype);
                var result = RetrievalMetrics.Evaluate(xd, labels, fixture.Ks, new KnnOptions { ChunkRows = 7 });
                foreach (var k in fixture.Ks)
                    Assert.True(Math.Abs(c.Recall[k.ToString(System.Globalization.CultureInfo.InvariantCulture)] - result.RecallAtK[k]) < 1e-9, $"{c.Name} {dtype} Recall@{k}");
                Assert.True(Math.Abs(c.MapAtR - result.MapAtR) < 1e-9, $"{c.Name} {dtype} MAP@R {result.MapAtR} vs {c.MapAtR}");
                Assert.True(Math.Abs(c.RPrecision - result.RPrecision) < 1e-9, $"{c.Name} {dtype} R-Precision");
                Assert.True(Math.Abs(c.MapAtR - RetrievalMetrics.MapAtR(xd, labels)) < 1e-9);
                var recall = RetrievalMetrics.RecallAtK(xd, labels, [.. fixture.Ks]);
                foreach (var k in fixture.Ks) Assert.Equal(result.RecallAtK[k], recall[k]);
            }
        }
    }

    [Fact]
    public void BadInputThrowsNamingTheShape()
    {
        var x = randn(5, 3);
        var e1 = Assert.Throws<ArgumentException>(() => RetrievalMetrics.RecallAtK(x, tensor(new long[] { 0, 1, 0 }), 1));
        Assert.Contains("[5, 3]", e1.Message);
        Assert.Contains("3 entries", e1.Message);
        var e2 = Assert.Throws<ArgumentException>(() => RetrievalMetrics.MapAtR(randn(5), tensor(new long[] { 0, 1, 0, 1, 0 })));
        Assert.Contains("[5]", e2.Message);
        var e3 = Assert.Throws<ArgumentException>(() => RetrievalMetrics.RecallAtK(zeros(0, 3), zeros(0, dtype: ScalarType.Int64), 1));
        Assert.Contains("[0, 3]", e3.Message);
        var nan = x.clone();
        nan[2, 1] = tensor(double.NaN);
        var e4 = Assert.Throws<ArgumentException>(() => RetrievalMetrics.RecallAtK(nan, tensor(new long[] { 0, 1, 0, 1, 0 }), 1));
        Assert.Contains("NaN", e4.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => RetrievalMetrics.RecallAtK(x, tensor(new long[] { 0, 1, 0, 1, 0 }), 0));
        var e5 = Assert.Throws<ArgumentException>(() => RetrievalMetrics.MapAtR(x, tensor(new long[] { 0, 1, 2, 3, 4 })));
        Assert.Contains("no query", e5.Message);
        Assert.Throws<ArgumentException>(() => RetrievalMetrics.RecallAtK(x, tensor(new float[] { 0, 1, 0, 1, 0 }), 1));
    }

    [Fact]
    public void LeavesNoTensorsBehind()
    {
        var (x, labels) = Line(ScalarType.Float32);
        using var scope = NewDisposeScope();
        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        RetrievalMetrics.Evaluate(x, labels, RecallPresets.CubCars, new KnnOptions { ChunkRows = 2 });
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}
