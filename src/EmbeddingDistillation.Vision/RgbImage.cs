namespace EmbeddingDistillation.Vision;

/// <summary>An 8-bit RGB image, rows top to bottom, pixels interleaved (R, G, B).</summary>
internal sealed class RgbImage
{
    /// <summary>Wraps <paramref name="pixels"/> (length width * height * 3).</summary>
    /// <param name="width">Width in pixels (positive).</param>
    /// <param name="height">Height in pixels (positive).</param>
    /// <param name="pixels">The interleaved RGB bytes.</param>
    public RgbImage(int width, int height, byte[] pixels)
    {
        if (width <= 0 || height <= 0)
            throw new ArgumentOutOfRangeException(nameof(width), $"Image size {width}x{height} must be positive.");
        if (pixels.Length != (long)width * height * 3)
            throw new ArgumentException($"Expected {(long)width * height * 3} bytes for {width}x{height} RGB, got {pixels.Length}.", nameof(pixels));
        Width = width;
        Height = height;
        Pixels = pixels;
    }

    /// <summary>Width in pixels.</summary>
    public int Width { get; }

    /// <summary>Height in pixels.</summary>
    public int Height { get; }

    /// <summary>The interleaved RGB bytes, row-major.</summary>
    public byte[] Pixels { get; }

    /// <summary>The sub-image at (<paramref name="left"/>, <paramref name="top"/>) of the given size; pixels outside the image are black (torchvision pads crops that way).</summary>
    /// <param name="left">Left column (may be negative).</param>
    /// <param name="top">Top row (may be negative).</param>
    /// <param name="width">Crop width (positive).</param>
    /// <param name="height">Crop height (positive).</param>
    public RgbImage Crop(int left, int top, int width, int height)
    {
        var result = new byte[width * height * 3];
        int x0 = Math.Max(left, 0), x1 = Math.Min(left + width, Width);
        for (int y = 0; y < height; y++)
        {
            int sy = top + y;
            if (sy < 0 || sy >= Height || x1 <= x0) continue;
            Array.Copy(Pixels, (sy * Width + x0) * 3, result, (y * width + x0 - left) * 3, (x1 - x0) * 3);
        }
        return new RgbImage(width, height, result);
    }
}
