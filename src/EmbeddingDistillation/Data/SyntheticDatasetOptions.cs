namespace EmbeddingDistillation.Data;

/// <summary>
/// Options of <see cref="SyntheticFineGrainedDataset"/>. Defaults give the embedded benchmark: 100 classes x 50
/// images of 32 x 32 RGB, with pose, scale, position, clutter, colour, noise and occlusion nuisances.
/// </summary>
public sealed class SyntheticDatasetOptions
{
    /// <summary>Number of classes (distinct attribute combinations), at most 8 x 8 x 6 = 384. Default 100.</summary>
    public int ClassCount { get; init; } = 100;

    /// <summary>Images per class. Default 50.</summary>
    public int ImagesPerClass { get; init; } = 50;

    /// <summary>Image side in pixels (square images; 32, 48, 64...). Default 32. Everything scales with it.</summary>
    public int ImageSize { get; init; } = 32;

    /// <summary>Seed of the class selection and of every image. Default 0.</summary>
    public int Seed { get; init; }

    /// <summary>Largest object rotation in degrees (uniform in [-this, this]). Default 20; larger angles blur the stripe orientations.</summary>
    public double MaxRotationDegrees { get; init; } = 20;

    /// <summary>Smallest object radius as a fraction of the image side. Default 0.22.</summary>
    public double MinScale { get; init; } = 0.22;

    /// <summary>Largest object radius as a fraction of the image side. Default 0.34.</summary>
    public double MaxScale { get; init; } = 0.34;

    /// <summary>Largest offset of the object centre from the image centre, as a fraction of the side. Default 0.16.</summary>
    public double MaxOffset { get; init; } = 0.16;

    /// <summary>Background distractors (blobs and line segments) per image, uniform in [0, this]. Default 6.</summary>
    public int MaxClutter { get; init; } = 6;

    /// <summary>Brightness and contrast factors uniform in [1 - this, 1 + this]. Default 0.2.</summary>
    public double ColourJitter { get; init; } = 0.2;

    /// <summary>Hue rotation uniform in [-this, this] degrees. Default 12 (palette hues are >= ~30 degrees apart).</summary>
    public double MaxHueShiftDegrees { get; init; } = 12;

    /// <summary>Standard deviation of additive Gaussian pixel noise (images in [0, 1]). Default 0.04.</summary>
    public double NoiseStd { get; init; } = 0.04;

    /// <summary>Probability of an occluding patch over part of the object. Default 0.5.</summary>
    public double OcclusionProbability { get; init; } = 0.5;

    /// <summary>Name, normalisation and training augmentation of the resulting dataset; null means the defaults (name "synthetic-fine-grained").</summary>
    public InMemoryDatasetOptions? Dataset { get; init; }

    internal void Validate()
    {
        var max = Enum.GetValues<SyntheticShape>().Length * SyntheticColourSchemes.All.Count * Enum.GetValues<SyntheticPattern>().Length;
        if (ClassCount < 1 || ClassCount > max)
            throw new ArgumentOutOfRangeException(nameof(ClassCount), ClassCount, $"ClassCount must be in [1, {max}] (the number of attribute combinations).");
        if (ImagesPerClass < 1) throw new ArgumentOutOfRangeException(nameof(ImagesPerClass), ImagesPerClass, "ImagesPerClass must be at least 1.");
        if (ImageSize < 8) throw new ArgumentOutOfRangeException(nameof(ImageSize), ImageSize, "ImageSize must be at least 8 pixels.");
        if (!(MinScale > 0 && MinScale <= MaxScale && MaxScale <= 0.5))
            throw new ArgumentException($"Scales must satisfy 0 < MinScale <= MaxScale <= 0.5; got {MinScale} and {MaxScale}.");
        if (!(MaxOffset >= 0 && MaxOffset <= 0.5)) throw new ArgumentOutOfRangeException(nameof(MaxOffset), MaxOffset, "MaxOffset must be in [0, 0.5].");
        if (MaxClutter < 0) throw new ArgumentOutOfRangeException(nameof(MaxClutter), MaxClutter, "MaxClutter must be >= 0.");
        if (!(ColourJitter >= 0 && ColourJitter < 1)) throw new ArgumentOutOfRangeException(nameof(ColourJitter), ColourJitter, "ColourJitter must be in [0, 1).");
        if (!(MaxHueShiftDegrees >= 0)) throw new ArgumentOutOfRangeException(nameof(MaxHueShiftDegrees), MaxHueShiftDegrees, "MaxHueShiftDegrees must be >= 0.");
        if (!(NoiseStd >= 0)) throw new ArgumentOutOfRangeException(nameof(NoiseStd), NoiseStd, "NoiseStd must be >= 0.");
        if (!(OcclusionProbability >= 0 && OcclusionProbability <= 1))
            throw new ArgumentOutOfRangeException(nameof(OcclusionProbability), OcclusionProbability, "OcclusionProbability must be in [0, 1].");
        if (!(MaxRotationDegrees >= 0)) throw new ArgumentOutOfRangeException(nameof(MaxRotationDegrees), MaxRotationDegrees, "MaxRotationDegrees must be >= 0.");
    }
}
