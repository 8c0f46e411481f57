namespace EmbeddingDistillation.Vision;

/// <summary>
/// The geometric choices of one sample's transform, drawn once so that two views of the same image (teacher
/// and student in cross-quality distillation) get the same crop and flip.
/// </summary>
/// <param name="ResizedWidth">Width after the shorter-side resize.</param>
/// <param name="ResizedHeight">Height after the shorter-side resize.</param>
/// <param name="CropLeft">Left column of the crop in the resized image.</param>
/// <param name="CropTop">Top row of the crop in the resized image.</param>
/// <param name="CropWidth">Crop width in the resized image.</param>
/// <param name="CropHeight">Crop height in the resized image.</param>
/// <param name="Flip">Whether to flip horizontally.</param>
internal readonly record struct GeometricParams(int ResizedWidth, int ResizedHeight, int CropLeft, int CropTop, int CropWidth, int CropHeight, bool Flip);

/// <summary>
/// torchvision-equivalent transforms (Resize, RandomResizedCrop, CenterCrop, RandomHorizontalFlip, ToTensor,
/// Normalize), seeded by a <see cref="Random"/> per sample. Resizing uses <see cref="Resampler"/>.
/// </summary>
internal sealed class ImageTransform
{
    private readonly ImageTransformOptions _options;
    private readonly float[] _scale = new float[3], _shift = new float[3];

    /// <summary>Creates the transform.</summary>
    /// <param name="options">Pipeline options (default: the paper's 224 px pipelines).</param>
    public ImageTransform(ImageTransformOptions? options = null)
    {
        _options = options ?? new ImageTransformOptions();
        _options.Validate();
        for (int c = 0; c < 3; c++)
        {
            // (v / 255 - mean) / std = v * scale + shift
            _scale[c] = 1f / (255f * _options.Std[c]);
            _shift[c] = -_options.Mean[c] / _options.Std[c];
        }
    }

    /// <summary>The options.</summary>
    public ImageTransformOptions Options => _options;

    /// <summary>Number of floats of one output image: 3 * ImageSize * ImageSize.</summary>
    public int SampleLength => 3 * _options.ImageSize * _options.ImageSize;

    /// <summary>
    /// torchvision's Resize(int) output size: shorter side = <paramref name="size"/>, longer side =
    /// int(size * long / short) (truncated, as torchvision does).
    /// </summary>
    /// <param name="width">Input width.</param>
    /// <param name="height">Input height.</param>
    /// <param name="size">Requested shorter side.</param>
    internal static (int Width, int Height) ShorterSideSize(int width, int height, int size)
    {
        if (width <= height) return (size, (int)((long)size * height / width));
        return ((int)((long)size * width / height), size);
    }

    /// <summary>
    /// torchvision's RandomResizedCrop.get_params: up to 10 attempts of area fraction ~ U(scale) and aspect ratio
    /// ~ exp(U(log ratio)), w = round(sqrt(area * ratio)), h = round(sqrt(area / ratio)) (round half to even as in
    /// Python); accepted when it fits, then top ~ U{0..H-h}, left ~ U{0..W-w}. Fallback: the largest centred crop
    /// with the aspect ratio clamped into the range.
    /// </summary>
    /// <param name="width">Image width.</param>
    /// <param name="height">Image height.</param>
    /// <param name="scale">Area fraction range.</param>
    /// <param name="ratio">Aspect-ratio range.</param>
    /// <param name="random">The sample's random source.</param>
    internal static (int Left, int Top, int Width, int Height) RandomResizedCropParams(int width, int height, (double Min, double Max) scale, (double Min, double Max) ratio, Random random)
    {
        double area = (double)width * height;
        double logMin = Math.Log(ratio.Min), logMax = Math.Log(ratio.Max);
        for (int attempt = 0; attempt < 10; attempt++)
        {
            double targetArea = area * (scale.Min + (scale.Max - scale.Min) * random.NextDouble());
            double aspect = Math.Exp(logMin + (logMax - logMin) * random.NextDouble());
            int w = (int)Math.Round(Math.Sqrt(targetArea * aspect), MidpointRounding.ToEven);
            int h = (int)Math.Round(Math.Sqrt(targetArea / aspect), MidpointRounding.ToEven);
            if (w > 0 && w <= width && h > 0 && h <= height)
            {
                int top = random.Next(0, height - h + 1);
                int left = random.Next(0, width - w + 1);
                return (left, top, w, h);
            }
        }
        double inRatio = (double)width / height;
        int cw, ch;
        if (inRatio < ratio.Min) { cw = width; ch = (int)Math.Round(cw / ratio.Min, MidpointRounding.ToEven); }
        else if (inRatio > ratio.Max) { ch = height; cw = (int)Math.Round(ch * ratio.Max, MidpointRounding.ToEven); }
        else { cw = width; ch = height; }
        return ((width - cw) / 2, (height - ch) / 2, cw, ch);
    }

    /// <summary>
    /// Draws the geometry of one sample for an input of <paramref name="width"/> x <paramref name="height"/>:
    /// training (RandomResizedCrop, then flip, in torchvision's order of random draws) or test (centre crop).
    /// </summary>
    /// <param name="width">Input width (after box crop and degradation, which keep sizes).</param>
    /// <param name="height">Input height.</param>
    /// <param name="augment">True for the training pipeline.</param>
    /// <param name="random">The sample's random source (unused when not augmenting).</param>
    internal GeometricParams Draw(int width, int height, bool augment, Random random)
    {
        var (rw, rh) = ShorterSideSize(width, height, _options.EffectiveResizeSize);
        int size = _options.ImageSize;
        if (augment)
        {
            var (left, top, w, h) = RandomResizedCropParams(rw, rh, _options.Scale, _options.Ratio, random);
            bool flip = random.NextDouble() < _options.FlipProbability;
            return new GeometricParams(rw, rh, left, top, w, h, flip);
        }
        // torchvision CenterCrop: offsets int(round((H - h) / 2)); a crop larger than the image is padded with zeros.
        int cropTop = (int)Math.Round((rh - size) / 2.0, MidpointRounding.ToEven);
        int cropLeft = (int)Math.Round((rw - size) / 2.0, MidpointRounding.ToEven);
        return new GeometricParams(rw, rh, cropLeft, cropTop, size, size, false);
    }

    /// <summary>Applies <paramref name="geometry"/> to <paramref name="image"/> and writes the normalised CHW floats into <paramref name="destination"/>.</summary>
    /// <param name="image">The decoded (and box-cropped) image.</param>
    /// <param name="geometry">From <see cref="Draw"/> for this image's size.</param>
    /// <param name="destination">At least <see cref="SampleLength"/> floats.</param>
    /// <param name="degrade">
    /// The cross-quality degradation of the network input, applied after the crop and resize (null: none), so that
    /// the loss of resolution is the same whatever the source file's size.
    /// </param>
    internal void Apply(RgbImage image, GeometricParams geometry, Span<float> destination, LowQualityOptions? degrade = null)
    {
        if (destination.Length < SampleLength)
            throw new ArgumentException($"Destination holds {destination.Length} floats, one image needs {SampleLength}.", nameof(destination));
        int size = _options.ImageSize;
        var resized = Resampler.Resize(image, geometry.ResizedWidth, geometry.ResizedHeight);
        RgbImage output;
        var g = geometry;
        if (g.CropLeft >= 0 && g.CropTop >= 0 && g.CropLeft + g.CropWidth <= resized.Width && g.CropTop + g.CropHeight <= resized.Height)
            output = Resampler.ResizeRegion(resized, g.CropLeft, g.CropTop, g.CropWidth, g.CropHeight, size, size);
        else
            output = Resampler.Resize(resized.Crop(g.CropLeft, g.CropTop, g.CropWidth, g.CropHeight), size, size);
        if (degrade is not null) output = Degrade(output, degrade);
        WriteNormalised(output, g.Flip, destination);
    }

    /// <summary>ToTensor + Normalize (and the horizontal flip): interleaved bytes to planar normalised floats.</summary>
    private void WriteNormalised(RgbImage image, bool flip, Span<float> destination)
    {
        int w = image.Width, h = image.Height, plane = w * h;
        var px = image.Pixels;
        for (int y = 0; y < h; y++)
        {
            for (int x = 0; x < w; x++)
            {
                int sx = flip ? w - 1 - x : x;
                int s = (y * w + sx) * 3, d = y * w + x;
                destination[d] = px[s] * _scale[0] + _shift[0];
                destination[plane + d] = px[s + 1] * _scale[1] + _shift[1];
                destination[2 * plane + d] = px[s + 2] * _scale[2] + _shift[2];
            }
        }
    }

    /// <summary>
    /// The cross-quality degradation of a network input: downscale by the factor (antialiased, each side
    /// max(1, round(side / factor))), upscale back to the same size (bilinear), then, when asked, JPEG re-encode and
    /// decode at the given quality. The size is unchanged.
    /// </summary>
    /// <param name="image">The clean image.</param>
    /// <param name="options">Degradation options.</param>
    internal static RgbImage Degrade(RgbImage image, LowQualityOptions options)
    {
        options.Validate();
        var result = image;
        if (options.DownscaleFactor > 1)
        {
            int w = Math.Max(1, (int)Math.Round(image.Width / options.DownscaleFactor, MidpointRounding.ToEven));
            int h = Math.Max(1, (int)Math.Round(image.Height / options.DownscaleFactor, MidpointRounding.ToEven));
            result = Resampler.Resize(Resampler.Resize(image, w, h), image.Width, image.Height);
        }
        if (options.JpegQuality is int q)
            result = ImageDecoder.Decode(ImageDecoder.EncodeJpeg(result, q), "(re-encoded JPEG)");
        return result;
    }

    /// <summary>The random source of one sample: a SplitMix64 hash of (batch seed, position in batch, sample index), so results do not depend on thread scheduling.</summary>
    /// <param name="batchSeed">The batch seed.</param>
    /// <param name="position">The sample's position in the batch.</param>
    /// <param name="index">The sample's dataset index.</param>
    internal static Random SampleRandom(int batchSeed, int position, int index)
    {
        ulong z = Mix((ulong)(uint)batchSeed);
        z = Mix(z ^ (uint)position);
        z = Mix(z ^ (uint)index);
        return new Random((int)(z & 0x7FFFFFFF));
    }

    /// <summary>The SplitMix64 finaliser (a bijective 64-bit mix).</summary>
    private static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
