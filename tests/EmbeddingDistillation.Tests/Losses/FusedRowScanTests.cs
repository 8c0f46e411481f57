using EmbeddingDistillation.Primitives;

namespace EmbeddingDistillation.Tests.Losses;

/// <summary>
/// The vectorised row scans of the fused losses against the scalar scans they replaced: the minimum, its first index
/// and its tie count (batch-hard triplet's hardest negative), the maximum (multi-similarity's mining threshold) and the
/// per-sample class members, at lengths around the vector width (full vectors, a tail, shorter than one vector).
/// </summary>
public class FusedRowScanTests
{
    public static IEnumerable<object[]> Lengths() =>
        new[] { 1, 3, 7, 8, 15, 16, 17, 31, 32, 33, 100, 128, 129 }.Select(n => new object[] { n });

    [Theory]
    [MemberData(nameof(Lengths))]
    public void MinimumFirstIndexAndTiesMatchAScalarScan(int n)
    {
        var random = new Random(n);
        for (var trial = 0; trial < 50; trial++)
        {
            // Few distinct values, so that ties are common, in any position (first lane, last lane, the tail).
            var row = Enumerable.Range(0, n).Select(_ => (float)random.Next(0, 4)).ToArray();
            if (trial % 5 == 0) row[random.Next(n)] = float.PositiveInfinity;
            var (min, index, count) = FusedPairwise.MinimumWithTies<float>(row);
            float expectedMin = float.PositiveInfinity;
            int expectedIndex = -1, expectedCount = 0;
            for (var j = 0; j < n; j++)
            {
                if (expectedIndex < 0 || row[j] < expectedMin) { expectedMin = row[j]; expectedIndex = j; expectedCount = 1; }
                else if (row[j] == expectedMin) expectedCount++;
            }
            Assert.Equal((expectedMin, expectedIndex, expectedCount), (min, index, count));
            var doubles = row.Select(v => (double)v).ToArray();
            Assert.Equal(((double)expectedMin, expectedIndex, expectedCount), FusedPairwise.MinimumWithTies<double>(doubles));
            Assert.Equal(doubles.Max(), FusedPairwise.Maximum<double>(doubles));
            Assert.Equal(row.Max(), FusedPairwise.Maximum<float>(row));
        }
    }

    [Fact]
    public void MaximumOfAnEmptyOrMaskedRowIsNegativeInfinity()
    {
        Assert.Equal(float.NegativeInfinity, FusedPairwise.Maximum<float>(ReadOnlySpan<float>.Empty));
        Assert.Equal(double.NegativeInfinity, FusedPairwise.Maximum<double>(Enumerable.Repeat(double.NegativeInfinity, 40).ToArray()));
    }

    [Fact]
    public void ClassMembersListEachSamplesClassInAscendingOrder()
    {
        long[] labels = [5, 2, 5, 9, 2, 5];
        var members = FusedPairwise.ClassMembers(labels);
        Assert.Equal(new[] { 0, 2, 5 }, members[0]);
        Assert.Equal(new[] { 1, 4 }, members[1]);
        Assert.Same(members[0], members[2]);
        Assert.Equal(new[] { 3 }, members[3]);
        Assert.Empty(FusedPairwise.ClassMembers([]));
    }
}
