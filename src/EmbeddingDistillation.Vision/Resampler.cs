namespace EmbeddingDistillation.Vision;

/// <summary>
/// Bilinear resize with antialiasing, the algorithm of PIL's <c>Image.resize(BILINEAR)</c> and torchvision's
/// <c>Resize(antialias=True)</c>: a separable triangle filter whose support widens by the scale factor when
/// downscaling (an area-weighted average of every covered source pixel), plain half-pixel bilinear
/// interpolation when upscaling. Horizontal pass first, then vertical. Like PIL, the row pass is rounded to 8 bits;
/// PIL's weights are 22-bit fixed point and ours float, so results can differ from PIL's by one level in rare
/// pixels.
/// </summary>
internal static class Resampler
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
        ReadOnlySpan<byte> src = source.Pixels;
        for (int y = 0; y < regionHeight; y++)
        {
            var inRow = src.Slice(((top + y) * source.Width + left) * 3, regionWidth * 3);
            var outRow = rows.AsSpan(y * width * 3, width * 3);
            for (int x = 0; x < width; x++)
            {
                float r = 0, g = 0, b = 0;
                var w = xWeights.AsSpan(x * xTaps, xCount[x]);
                var px = inRow.Slice(xStart[x] * 3, w.Length * 3);
                for (int k = 0, s = 0; k < w.Length; k++, s += 3)
                {
                    float wk = w[k];
                    r += wk * px[s];
                    g += wk * px[s + 1];
                    b += wk * px[s + 2];
                }
                // PIL stores the row pass as 8-bit too; rounding here keeps results within one level of PIL's.
                outRow[x * 3] = Clamp8(r);
                outRow[x * 3 + 1] = Clamp8(g);
                outRow[x * 3 + 2] = Clamp8(b);
            }
        }

        // Vertical pass: each output row is a weighted sum of whole input rows (vectorised), rounded to 8 bits.
        var result = new byte[width * height * 3];
        int stride = width * 3;
        var acc = new float[stride];
        for (int y = 0; y < height; y++)
        {
            Array.Clear(acc);
            int start = yStart[y], wBase = y * yTaps;
            for (int k = 0; k < yCount[y]; k++)
                AddScaled(acc, rows.AsSpan((start + k) * stride, stride), yWeights[wBase + k]);
            var outRow = result.AsSpan(y * stride, stride);
            for (int i = 0; i < stride; i++)
                outRow[i] = (byte)Clamp8(acc[i]);
        }
        return new RgbImage(width, height, result);
    }

    /// <summary>acc += weight * row, with SIMD where available.</summary>
    private static void AddScaled(Span<float> acc, ReadOnlySpan<float> row, float weight)
    {
        int i = 0;
        if (System.Numerics.Vector.IsHardwareAccelerated)
        {
            int n = System.Numerics.Vector<float>.Count;
            var w = new System.Numerics.Vector<float>(weight);
            for (; i <= acc.Length - n; i += n)
                (new System.Numerics.Vector<float>(acc[i..]) + w * new System.Numerics.Vector<float>(row[i..])).CopyTo(acc[i..]);
        }
        for (; i < acc.Length; i++) acc[i] += weight * row[i];
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
