using System.Text;
using SkiaSharp;

namespace EmbeddingDistillation.Tests.Pipelines;

/// <summary>
/// A CUB-200-2011 layout written by the test: class ids 1..trainClasses (the paper's training half, id &lt;= 100) and
/// 101..100+testClasses (test half), small JPEGs whose colour and stripe direction depend on the class, plus
/// per-image jitter, so a tiny network can separate classes a little.
/// </summary>
internal sealed class PaperFixture : IDisposable
{
    public PaperFixture(int trainClasses = 4, int testClasses = 4, int imagesPerClass = 6, int width = 44, int height = 36)
    {
        Root = Path.Combine(Path.GetTempPath(), "ed-paper-" + Guid.NewGuid().ToString("N"));
        Cub = Path.Combine(Root, "CUB_200_2011");
        var images = new StringBuilder();
        var labels = new StringBuilder();
        var classes = new StringBuilder();
        int id = 0;
        var ids = Enumerable.Range(1, trainClasses).Concat(Enumerable.Range(101, testClasses));
        foreach (int c in ids)
        {
            string folder = $"{c:D3}.Bird_{c}";
            classes.AppendLine($"{c} {folder}");
            for (int i = 0; i < imagesPerClass; i++)
            {
                id++;
                string rel = $"{folder}/Bird_{c}_{i}.jpg";
                WriteJpeg(Path.Combine(Cub, "images", rel), width, height, c, i);
                images.AppendLine($"{id} {rel}");
                labels.AppendLine($"{id} {c}");
            }
        }
        File.WriteAllText(Path.Combine(Cub, "images.txt"), images.ToString());
        File.WriteAllText(Path.Combine(Cub, "image_class_labels.txt"), labels.ToString());
        File.WriteAllText(Path.Combine(Cub, "classes.txt"), classes.ToString());
        ImageCount = id;
    }

    public string Root { get; }

    public string Cub { get; }

    public int ImageCount { get; }

    public string Report => Path.Combine(Root, "report");

    /// <summary>
    /// Writes a Stanford Online Products layout under Root/Stanford_Online_Products: classes 1..trainClasses in
    /// Ebay_train.txt, the next testClasses in Ebay_test.txt, with super-class ids; returns its root.
    /// </summary>
    public string WriteSop(int trainClasses, int testClasses, int imagesPerClass)
    {
        string root = Path.Combine(Root, "Stanford_Online_Products");
        var train = new StringBuilder("image_id class_id super_class_id path\n");
        var test = new StringBuilder("image_id class_id super_class_id path\n");
        int id = 0;
        for (int c = 1; c <= trainClasses + testClasses; c++)
            for (int i = 0; i < imagesPerClass; i++)
            {
                id++;
                string rel = $"bicycle_final/{c}_{i}.JPG";
                WriteJpeg(Path.Combine(root, rel), 40, 40, c, i);
                (c <= trainClasses ? train : test).Append($"{id} {c} {1 + c % 2} {rel}\n");
            }
        File.WriteAllText(Path.Combine(root, "Ebay_train.txt"), train.ToString());
        File.WriteAllText(Path.Combine(root, "Ebay_test.txt"), test.ToString());
        return root;
    }

    /// <summary>Writes <paramref name="count"/> unlabelled JPEGs in nested folders (and a non-image file that must be ignored).</summary>
    public string WriteUnlabelled(int count, int width = 44, int height = 36)
    {
        string dir = Path.Combine(Root, "unlabelled");
        for (int i = 0; i < count; i++)
            WriteJpeg(Path.Combine(dir, $"part{i % 3}", i % 2 == 0 ? "deeper" : "", $"u{i}.JPG"), width, height, 50 + i % 7, i);
        File.WriteAllText(Path.Combine(dir, "notes.txt"), "not an image");
        return dir;
    }

    /// <summary>A class-dependent pattern: hue from the class, stripes horizontal or vertical by class parity, jitter by image.</summary>
    public static void WriteJpeg(string path, int width, int height, int classId, int image)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var rng = new Random(classId * 1000 + image);
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        byte r0 = (byte)(classId * 53 % 256), g0 = (byte)(classId * 97 % 256), b0 = (byte)(classId * 31 % 256);
        int period = 4 + classId % 5;
        int shift = rng.Next(period);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int t = (classId % 2 == 0 ? x : y) + shift;
                bool stripe = t / period % 2 == 0;
                int n = rng.Next(-12, 13);
                byte Clamp(int v) => (byte)Math.Clamp(v + n, 0, 255);
                bitmap.SetPixel(x, y, stripe ? new SKColor(Clamp(r0), Clamp(g0), Clamp(b0)) : new SKColor(Clamp(255 - r0), Clamp(255 - g0), Clamp(b0 / 2)));
            }
        using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, 92);
        File.WriteAllBytes(path, data.ToArray());
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
