using System.Text;

namespace EmbeddingDistillation.Data;

/// <summary>
/// A grid of dataset images written as a binary PPM (P6) file, a format that needs no image library and that
/// every image viewer and converter reads: a quick way to look at what a dataset contains.
/// </summary>
internal static class ContactSheet
{
    /// <summary>Encodes the images <paramref name="indices"/> of <paramref name="dataset"/> as a PPM grid.</summary>
    /// <param name="dataset">The dataset (its raw 8-bit pixels are used, no normalisation or augmentation).</param>
    /// <param name="indices">Images in row-major grid order.</param>
    /// <param name="columns">Images per row (at least 1).</param>
    /// <param name="scale">Pixel replication factor (nearest neighbour), at least 1. Default 2.</param>
    /// <param name="gap">Pixels of grey between images. Default 2.</param>
    public static byte[] ToPpm(InMemoryImageDataset dataset, IReadOnlyList<int> indices, int columns, int scale = 2, int gap = 2)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        DatasetIndices.Validate(indices, dataset.Count, dataset.Name);
        if (columns < 1) throw new ArgumentOutOfRangeException(nameof(columns), columns, "Columns must be at least 1.");
        if (scale < 1) throw new ArgumentOutOfRangeException(nameof(scale), scale, "Scale must be at least 1.");
        if (gap < 0) throw new ArgumentOutOfRangeException(nameof(gap), gap, "Gap must be at least 0.");
        var rows = (indices.Count + columns - 1) / columns;
        var (h, w) = (dataset.Height, dataset.Width);
        var cellW = w * scale + gap;
        var cellH = h * scale + gap;
        var width = columns * cellW + gap;
        var height = rows * cellH + gap;
        var rgb = new byte[width * height * 3];
        Array.Fill(rgb, (byte)128);
        var pixels = dataset.Pixels.Span;
        var plane = h * w;
        for (var k = 0; k < indices.Count; k++)
        {
            var ox = gap + k % columns * cellW;
            var oy = gap + k / columns * cellH;
            var image = pixels.Slice(indices[k] * 3 * plane, 3 * plane);
            for (var y = 0; y < h * scale; y++)
                for (var x = 0; x < w * scale; x++)
                {
                    var src = y / scale * w + x / scale;
                    var dst = ((oy + y) * width + ox + x) * 3;
                    for (var c = 0; c < 3; c++) rgb[dst + c] = image[c * plane + src];
                }
        }
        var header = Encoding.ASCII.GetBytes($"P6\n{width} {height}\n255\n");
        return [.. header, .. rgb];
    }

    /// <summary>Writes <see cref="ToPpm"/> to <paramref name="path"/>.</summary>
    /// <param name="path">The .ppm file to write.</param>
    /// <param name="dataset">The dataset.</param>
    /// <param name="indices">Images in row-major grid order.</param>
    /// <param name="columns">Images per row.</param>
    /// <param name="scale">Pixel replication factor. Default 2.</param>
    /// <param name="gap">Pixels between images. Default 2.</param>
    public static void WritePpm(string path, InMemoryImageDataset dataset, IReadOnlyList<int> indices, int columns, int scale = 2, int gap = 2) =>
        File.WriteAllBytes(path, ToPpm(dataset, indices, columns, scale, gap));
}
