using EmbeddingDistillation.Networks;
using TorchSharp;
using static EmbeddingDistillation.Tests.Networks.NetworkTestUtil;

namespace EmbeddingDistillation.Tests.Networks;

/// <summary>Weights files carry a checksum: damage after writing is caught by name, never loaded as garbage.</summary>
public class WeightsFileIntegrityTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("ed-weights-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string Saved()
    {
        var path = Path.Combine(dir, "best.weights");
        using var net = TinyResNet18(smallStem: true);
        NetworkCheckpoint.Save(net, path);
        return path;
    }

    [Fact]
    public void TwoKilobytesOfFlippedBytesAreRejectedByName()
    {
        var path = Saved();
        var bytes = File.ReadAllBytes(path);
        for (int i = bytes.Length / 2; i < bytes.Length / 2 + 2048; i++) bytes[i] ^= 0x5A;
        File.WriteAllBytes(path, bytes);
        using var net = TinyResNet18(smallStem: true);
        var e = Assert.Throws<InvalidDataException>(() => NetworkCheckpoint.Load(net, path));
        Assert.Contains(path, e.Message);
        Assert.Contains("checksum", e.Message);
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(0.999)]
    [InlineData(0.0001)]
    public void TruncatedFilesAreRejectedByName(double keep)
    {
        var path = Saved();
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..Math.Max(1, (int)(bytes.Length * keep))]);
        using var net = TinyResNet18(smallStem: true);
        var e = Assert.Throws<InvalidDataException>(() => NetworkCheckpoint.Load(net, path));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void AFileInAnotherFormatIsRejectedByName()
    {
        var path = Path.Combine(dir, "plain.weights");
        using (var net = TinyResNet18(smallStem: true)) net.save(path); // TorchSharp's own format, no checksum
        using var other = TinyResNet18(smallStem: true);
        var e = Assert.Throws<InvalidDataException>(() => NetworkCheckpoint.Load(other, path));
        Assert.Contains(path, e.Message);
        Assert.Contains("not an EmbeddingDistillation weights file", e.Message);
    }

    [Fact]
    public void AnIntactFileRoundTripsExactly()
    {
        var path = Saved();
        using var a = TinyResNet18(smallStem: true);
        NetworkCheckpoint.Load(a, path);
        using var b = TinyResNet18(smallStem: true);
        NetworkCheckpoint.Load(b, path);
        foreach (var ((name, p), (_, q)) in a.named_parameters().Zip(b.named_parameters()))
            Assert.True(p.equal(q).all().item<bool>(), name);
    }
}
