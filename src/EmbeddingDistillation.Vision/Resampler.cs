namespace EmbeddingDistillation.Vision;

/// <summary>
/// Bilinear resize with antialiasing, the algorithm of PIL's <c>Image.resize(BILINEAR)</c> and torchvision's
/// <c>Resize(antialias=True)</c>: a separable triangle filter whose support widens by the scale factor when
/// downscaling (an area-weighted average of every covered source pixel), plain half-pixel bilinear
/// interpolation when upscaling. Horizontal pass first, then vertical. Like PIL, the row pass is rounded to 8 bits;
/// PIL's weights are 22-bit fixed point and ours float, so results can differ from PIL's by one level in rare
/// pixels.
/// </summary>
public static class Resampler
{
    /// <summary>Resizes the whole of <paramref name="source"/> to <paramref name="width"/> x <paramref name="height"/>.</summary>
    /// <param name="source">The image.</param>
    /// <param name="width">Output width (positive).</param>
    /// <param name="height">Output height (positive).</param>
    public static RgbImage Resize(RgbImage source, int width, int height) =>
        ResizeRegion(source, 0, 0, source.Width, source.Height, width, height);

    /// <summary>
    /// Resizes the region (<paramref name="left"/>, <paramref name="top"/>, <paramref name="regionWidth"/>,
    /// <paramref name="regionHeight"/>) of <paramref name="source"/> to <paramref name="width"/> x
    /// <paramref name="height"/>: torchvision's <c>resized_crop</c> (crop, then resize) in one step.
    /// </summary>
    /// <param name="source">The image.</param>
    /// <param name="left">Left column of the region.</param>
    /// <param name="top">Top row of the region.</param>
    /// <param name="regionWidth">Region width.</param>
    /// <param name="regionHeight">Region height.</param>
    /// <param name="width">Output width (positive).</param>
    /// <param name="height">Output height (positive).</param>
    public static RgbImage ResizeRegion(RgbImage source, int left, int top, int regionWidth, int regionHeight, int width, int height)
    {
        if (width <= 0 || height <= 0)
            throw new ArgumentOutOfRangeException(nameof(width), $"Output size {width}x{height} must be positive.");
        if (left < 0 || top < 0 || regionWidth <= 0 || regionHeight <= 0 || left + regionWidth > source.Width || top + regionHeight > source.Height)
            throw new ArgumentOutOfRangeException(nameof(left), $"Region ({left},{top},{regionWidth}x{regionHeight}) is not inside the {source.Width}x{source.Height} image.");
        if (left == 0 && top == 0 && regionWidth == width && regionHeight == height && width == source.Width && height == source.Height)
            return source;

        var (xStart, xCount, xWeights, xTaps) = Coefficients(regionWidth, width);
        var (yStart, yCount, yWeights, yTaps) = Coefficients(regionHeight, height);

        // Horizontal pass over the rows of the region: [regionHeight, width, 3] floats.
        var rows = new float[regionHeight * width * 3];
        var src = source.Pixels;
        for (int y = 0; y < regionHeight; y++)
        {
            int rowBase = ((top + y) * source.Width + left) * 3;
            int outBase = y * width * 3;
            for (int x = 0; x < width; x++)
            {
                float r = 0, g = 0, b = 0;
                int start = xStart[x], taps = xCount[x], wBase = x * xTaps;
                for (int k = 0; k < taps; k++)
                {
                    float w = xWeights[wBase + k];
                    int s = rowBase + (start + k) * 3;
                    r += w * src[s];
                    g += w * src[s + 1];
                    b += w * src[s + 2];
                }
                // PIL stores the row pass as 8-bit too; rounding here keeps results within one level of PIL's.
                int o = outBase + x * 3;
                rows[o] = Clamp8(r);
                rows[o + 1] = Clamp8(g);
                rows[o + 2] = Clamp8(b);
            }
        }

        // Vertical pass, rounding to 8 bits like PIL.
        var result = new byte[width * height * 3];
        int stride = width * 3;
        for (int y = 0; y < height; y++)
        {
            int start = yStart[y], taps = yCount[y], wBase = y * yTaps;
            int outBase = y * stride;
            for (int i = 0; i < stride; i++)
            {
                float v = 0;
                for (int k = 0; k < taps; k++)
                    v += yWeights[wBase + k] * rows[(start + k) * stride + i];
                result[outBase + i] = (byte)Clamp8(v);
            }
        }
        return new RgbImage(width, height, result);
    }

    private static float Clamp8(float v) => Math.Clamp(MathF.Round(v, MidpointRounding.AwayFromZero), 0f, 255f);

    /// <summary>
    /// Per output sample: first source index, number of taps and normalised triangle weights (PIL's
    /// precompute_coeffs with the bilinear filter, support 1).
    /// </summary>
    private static (int[] Start, int[] Count, float[] Weights, int MaxTaps) Coefficients(int inSize, int outSize)
    {
        double scale = (double)inSize / outSize;
        double filterScale = Math.Max(scale, 1.0);
        double support = filterScale;
        int maxTaps = (int)Math.Ceiling(support) * 2 + 1;
        var start = new int[outSize];
        var count = new int[outSize];
        var weights = new float[outSize * maxTaps];
        var tmp = new double[maxTaps];
        for (int i = 0; i < outSize; i++)
        {
            double center = (i + 0.5) * scale;
            int xmin = Math.Max((int)(center - support + 0.5), 0);
            int xmax = Math.Min((int)(center + support + 0.5), inSize) - xmin;
            xmax = Math.Min(xmax, maxTaps);
            double total = 0;
            for (int k = 0; k < xmax; k++)
            {
                double t = Math.Abs((k + xmin - center + 0.5) / filterScale);
                double w = t < 1 ? 1 - t : 0;
                tmp[k] = w;
                total += w;
            }
            start[i] = xmin;
            count[i] = xmax;
            for (int k = 0; k < xmax; k++)
                weights[i * maxTaps + k] = total > 0 ? (float)(tmp[k] / total) : 0f;
        }
        return (start, count, weights, maxTaps);
    }
}
