using SkiaSharp;

namespace EmbeddingDistillation.Samples;

/// <summary>One grid row: the query image and its hits, each with a caption and whether it is the query's class.</summary>
public sealed record GridRow(byte[] QueryPixels, string QueryCaption, IReadOnlyList<(byte[] Pixels, string Caption, bool Correct)> Hits);

/// <summary>
/// Draws the query-and-results grid with SkiaSharp: every image is upscaled with nearest-neighbour sampling (the
/// synthetic images are 32 px; smoothing would hide exactly the details that separate classes) and framed: blue
/// for the query, green for a hit of the query's class, red for a hit of another class.
/// </summary>
public static class IndexGrid
{
    private const int Cell = 96, Frame = 4, Gap = 10, Caption = 18, Margin = 12, Header = 28;

    /// <param name="path">PNG to write.</param>
    /// <param name="rows">The rows.</param>
    /// <param name="side">Image side in pixels (square images, layout [3, side, side] bytes).</param>
    /// <param name="title">Header line.</param>
    public static void Save(string path, IReadOnlyList<GridRow> rows, int side, string title)
    {
        var columns = 1 + rows.Max(r => r.Hits.Count);
        var box = Cell + 2 * Frame;
        var width = 2 * Margin + columns * box + (columns - 1) * Gap + Gap; // extra gap after the query column
        var height = Margin + Header + rows.Count * (box + Caption + Gap);
        using var surface = SKSurface.Create(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        using var font = new SKFont(SKTypeface.Default, 13);
        using var ink = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        using var grey = new SKPaint { Color = new SKColor(90, 90, 90), IsAntialias = true };
        canvas.DrawText(title, Margin, Margin + 15, SKTextAlign.Left, font, ink);

        for (var r = 0; r < rows.Count; r++)
        {
            var y = Margin + Header + r * (box + Caption + Gap);
            var row = rows[r];
            DrawCell(canvas, row.QueryPixels, side, Margin, y, new SKColor(40, 90, 220));
            canvas.DrawText(row.QueryCaption, Margin + box / 2f, y + box + 14, SKTextAlign.Center, font, ink);
            for (var c = 0; c < row.Hits.Count; c++)
            {
                var x = Margin + (c + 1) * (box + Gap) + Gap;
                var (pixels, caption, correct) = row.Hits[c];
                DrawCell(canvas, pixels, side, x, y, correct ? new SKColor(20, 170, 60) : new SKColor(220, 40, 40));
                canvas.DrawText(caption, x + box / 2f, y + box + 14, SKTextAlign.Center, font, grey);
            }
        }

        using var image = surface.Snapshot();
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        using var file = File.Create(full);
        png.SaveTo(file);
    }

    private static void DrawCell(SKCanvas canvas, byte[] planar, int side, float x, float y, SKColor frame)
    {
        using var framePaint = new SKPaint { Color = frame, Style = SKPaintStyle.Fill };
        canvas.DrawRect(x, y, Cell + 2 * Frame, Cell + 2 * Frame, framePaint);
        using var bitmap = ToBitmap(planar, side);
        using var image = SKImage.FromBitmap(bitmap);
        canvas.DrawImage(image, new SKRect(x + Frame, y + Frame, x + Frame + Cell, y + Frame + Cell),
            new SKSamplingOptions(SKFilterMode.Nearest, SKMipmapMode.None));
    }

    /// <summary>Planar RGB bytes [3, side, side] to an opaque RGBA bitmap.</summary>
    private static SKBitmap ToBitmap(byte[] planar, int side)
    {
        var plane = side * side;
        var bitmap = new SKBitmap(new SKImageInfo(side, side, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var rgba = new byte[plane * 4];
        for (var p = 0; p < plane; p++)
        {
            rgba[4 * p] = planar[p];
            rgba[4 * p + 1] = planar[plane + p];
            rgba[4 * p + 2] = planar[2 * plane + p];
            rgba[4 * p + 3] = 255;
        }
        System.Runtime.InteropServices.Marshal.Copy(rgba, 0, bitmap.GetPixels(), rgba.Length);
        return bitmap;
    }
}
