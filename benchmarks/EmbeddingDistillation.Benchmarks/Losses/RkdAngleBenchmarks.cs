using BenchmarkDotNet.Attributes;

namespace EmbeddingDistillation.Benchmarks.Losses;

/// <summary>
/// RKD angle-wise loss: O(N^3) values per side (and the authors' form O(N^3 D) work), so batch 512 would need several
/// GB per N^3 float tensor set; it runs at 32, 128 and 256 instead.
/// </summary>
public class RkdAngleBenchmarks : LossBenchmarks
{
    /// <summary>Only the angle loss.</summary>
    [ParamsSource(nameof(AngleOnly))]
    public override string Loss { get; set; } = "rkd-angle";

    /// <summary>The angle loss.</summary>
    public static IEnumerable<string> AngleOnly() => new[] { "rkd-angle" };

    /// <summary>Batch sizes 32, 128, 256 (32 only in smoke mode).</summary>
    public override IEnumerable<int> BatchSizes() => Smoke ? new[] { 32 } : new[] { 32, 128, 256 };
}
