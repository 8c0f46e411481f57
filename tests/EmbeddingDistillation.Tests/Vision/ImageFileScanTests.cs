using EmbeddingDistillation.Vision;
using SkiaSharp;

namespace EmbeddingDistillation.Tests.Vision;

/// <summary>The up-front scan finds every file the loader would fail on, and names it with the reason.</summary>
public class ImageFileScanTests
{
    private static byte[] Jpeg(int seed) => TestImages.Encode(TestImages.Pattern(96, 64, seed), 96, 64, SKEncodedImageFormat.Jpeg, 90);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ReportsCorruptEmptyAndMissingFilesInRecordOrder(bool fullDecode)
    {
        using var dir = new TempDir();
        TestImages.WriteJpeg(dir.File("ok/a.jpg"), 40, 30, 1);
        TestImages.WritePng(dir.File("ok/b.png"), 40, 30, 2);
        var jpeg = Jpeg(3);
        File.WriteAllBytes(dir.File("bad/truncated.jpg"), jpeg[..(jpeg.Length / 2)]);
        File.WriteAllBytes(dir.File("bad/garbage.jpg"), Enumerable.Range(0, 500).Select(i => (byte)(i * 31)).ToArray());
        File.WriteAllBytes(dir.File("bad/empty.jpg"), []);
        string[] files = ["ok/a.jpg", "bad/truncated.jpg", "bad/missing.jpg", "ok/b.png", "bad/garbage.jpg", "bad/empty.jpg"];
        var layout = new DatasetLayout("scan", dir.Path, files.Select(f => new ImageRecord(f, 0)).ToArray(), new Dictionary<int, string>());

        var report = ImageFileScan.Scan(layout, options: new ImageScanOptions { FullDecode = fullDecode });

        Assert.Equal(6, report.Checked);
        Assert.False(report.IsClean);
        Assert.Equal(["bad/truncated.jpg", "bad/missing.jpg", "bad/garbage.jpg", "bad/empty.jpg"], report.Problems.Select(p => p.Record.RelativePath));
        Assert.Equal(ImageFileProblemKind.Missing, Assert.Single(report.Missing).Kind);
        Assert.Contains("truncated", report.Problems[0].Reason);
        Assert.Contains("not a decodable image", report.Problems[2].Reason);
        Assert.Contains("empty", report.Problems[3].Reason);
        Assert.Equal(Path.Combine(dir.Path, "bad", "truncated.jpg"), report.Problems[0].Path);
        Assert.StartsWith(report.Problems[0].Path + ": ", report.Problems[0].ToString());
        // Skipping corrupt images keeps the good ones and the missing one (a missing file is never skipped silently).
        Assert.Equal(["ok/a.jpg", "bad/missing.jpg", "ok/b.png"], report.WithoutCorrupt(layout.Records).Select(r => r.RelativePath));
    }

    public static TheoryData<string> Damages => new() { "cut-10%", "cut-50%", "cut-90%", "cut-eoi", "flip-header", "flip-middle", "zeros-middle" };

    /// <summary>The scaled decode of the scan agrees with the loader's full decode on every kind of damage.</summary>
    [Theory]
    [MemberData(nameof(Damages))]
    public void TheFastScanAgreesWithTheLoadersFullDecode(string damage)
    {
        var bytes = Jpeg(5);
        int n = bytes.Length;
        bytes = damage switch
        {
            "cut-10%" => bytes[..(n / 10)],
            "cut-50%" => bytes[..(n / 2)],
            "cut-90%" => bytes[..(n * 9 / 10)],
            "cut-eoi" => bytes[..(n - 2)],
            "flip-header" => Flip(bytes, 20, 40),
            "flip-middle" => Flip(bytes, n / 2, n / 2 + 64),
            _ => Zero(bytes, n / 2, n / 2 + 256),
        };
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("x.jpg"), bytes);
        var layout = new DatasetLayout("scan", dir.Path, [new ImageRecord("x.jpg", 0)], new Dictionary<int, string>());

        bool loaderFails;
        try
        {
            ImageDecoder.Decode(Path.Combine(dir.Path, "x.jpg"));
            loaderFails = false;
        }
        catch (ImageDataException)
        {
            loaderFails = true;
        }
        Assert.Equal(loaderFails, !ImageFileScan.Scan(layout).IsClean);
        Assert.Equal(loaderFails, !ImageFileScan.Scan(layout, options: new ImageScanOptions { FullDecode = true }).IsClean);
    }

    private static byte[] Flip(byte[] bytes, int from, int to)
    {
        var copy = bytes.ToArray();
        for (int i = from; i < to && i < copy.Length; i++) copy[i] ^= 0x5A;
        return copy;
    }

    private static byte[] Zero(byte[] bytes, int from, int to)
    {
        var copy = bytes.ToArray();
        Array.Clear(copy, from, Math.Min(to, copy.Length) - from);
        return copy;
    }
}
