namespace EmbeddingDistillation.Vision;

/// <summary>
/// The paper's image pipelines. Training: resize the shorter side to <see cref="EffectiveResizeSize"/>, then
/// RandomResizedCrop(<see cref="ImageSize"/>, <see cref="Scale"/>, <see cref="Ratio"/>), RandomHorizontalFlip
/// (<see cref="FlipProbability"/>), ToTensor, Normalize(<see cref="Mean"/>, <see cref="Std"/>). Test: resize,
/// CenterCrop(<see cref="ImageSize"/>), ToTensor, Normalize.
/// </summary>
public sealed record ImageTransformOptions
{
    /// <summary>Output side length in pixels. Default 224.</summary>
    public int ImageSize { get; init; } = 224;

    /// <summary>Shorter side after the first resize; null (default) means round(ImageSize * 256 / 224), i.e. 256 for 224.</summary>
    public int? ResizeSize { get; init; }

    /// <summary>RandomResizedCrop area range as fractions of the image area. Default (0.08, 1.0).</summary>
    public (double Min, double Max) Scale { get; init; } = (0.08, 1.0);

    /// <summary>RandomResizedCrop aspect-ratio (width / height) range, sampled log-uniformly. Default (3/4, 4/3).</summary>
    public (double Min, double Max) Ratio { get; init; } = (3.0 / 4.0, 4.0 / 3.0);

    /// <summary>Probability of a horizontal flip in training. Default 0.5.</summary>
    public double FlipProbability { get; init; } = 0.5;

    /// <summary>Per-channel mean subtracted after scaling to [0, 1]. Default ImageNet (0.485, 0.456, 0.406).</summary>
    public IReadOnlyList<float> Mean { get; init; } = [0.485f, 0.456f, 0.406f];

    /// <summary>Per-channel standard deviation divided by. Default ImageNet (0.229, 0.224, 0.225).</summary>
    public IReadOnlyList<float> Std { get; init; } = [0.229f, 0.224f, 0.225f];

    /// <summary>The shorter side of the first resize: <see cref="ResizeSize"/> or round(ImageSize * 256 / 224).</summary>
    public int EffectiveResizeSize => ResizeSize ?? (int)Math.Round(ImageSize * 256.0 / 224.0, MidpointRounding.ToEven);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    internal void Validate()
    {
        if (ImageSize <= 0) throw new ArgumentException($"ImageSize must be positive, got {ImageSize}.", nameof(ImageSize));
        if (EffectiveResizeSize <= 0) throw new ArgumentException($"ResizeSize must be positive, got {ResizeSize}.", nameof(ResizeSize));
        if (!(Scale.Min > 0 && Scale.Min <= Scale.Max && Scale.Max <= 1)) throw new ArgumentException($"Scale must satisfy 0 < min <= max <= 1, got {Scale}.", nameof(Scale));
        if (!(Ratio.Min > 0 && Ratio.Min <= Ratio.Max)) throw new ArgumentException($"Ratio must satisfy 0 < min <= max, got {Ratio}.", nameof(Ratio));
        if (!(FlipProbability >= 0 && FlipProbability <= 1)) throw new ArgumentException($"FlipProbability must be in [0, 1], got {FlipProbability}.", nameof(FlipProbability));
        if (Mean.Count != 3 || Std.Count != 3) throw new ArgumentException("Mean and Std need 3 values (R, G, B).", nameof(Mean));
        if (Std.Any(s => !(s > 0))) throw new ArgumentException("Std values must be positive.", nameof(Std));
    }
}

/// <summary>
/// The degradation of cross-quality distillation, applied to the network input (after the crop and resize): downscale
/// by <see cref="DownscaleFactor"/> (antialiased), upscale back (bilinear), then, when asked, re-encode as JPEG at
/// <see cref="JpegQuality"/>. The paper degrades resolution; the JPEG step is an extra that no source ties to it.
/// </summary>
public sealed record LowQualityOptions
{
    /// <summary>Downscale factor (1 = no resolution loss). Default 4.</summary>
    public double DownscaleFactor { get; init; } = 4;

    /// <summary>JPEG quality of an extra re-encoding (1-100), or null (default) to skip it.</summary>
    public int? JpegQuality { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    internal void Validate()
    {
        if (!(DownscaleFactor >= 1) || double.IsInfinity(DownscaleFactor)) throw new ArgumentException($"DownscaleFactor must be >= 1, got {DownscaleFactor}.", nameof(DownscaleFactor));
        if (JpegQuality is < 1 or > 100) throw new ArgumentException($"JpegQuality must be in [1, 100], got {JpegQuality}.", nameof(JpegQuality));
    }
}
