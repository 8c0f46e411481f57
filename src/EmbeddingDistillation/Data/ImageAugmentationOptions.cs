namespace EmbeddingDistillation.Data;

/// <summary>The geometric crop of training-time augmentation.</summary>
public enum AugmentationCrop
{
    /// <summary>No crop (flip and colour jitter may still apply).</summary>
    None,

    /// <summary>Reflect-pad by <see cref="ImageAugmentationOptions.Padding"/> pixels, then crop H x W at a random offset (the CIFAR recipe; default).</summary>
    PadAndCrop,

    /// <summary>Crop a random area fraction and aspect ratio, resized back to H x W bilinearly (the paper's RandomResizedCrop, on tensors).</summary>
    RandomResizedCrop,
}

/// <summary>
/// Training-time augmentation of <see cref="InMemoryImageDataset"/>, applied to a whole batch with tensor ops.
/// Randomness comes from the batch seed (and each sample's position and index), so a batch is reproducible.
/// </summary>
public sealed class ImageAugmentationOptions
{
    /// <summary>The geometric crop. Default <see cref="AugmentationCrop.PadAndCrop"/>.</summary>
    public AugmentationCrop Crop { get; init; } = AugmentationCrop.PadAndCrop;

    /// <summary>Padding of <see cref="AugmentationCrop.PadAndCrop"/> in pixels; null (default) means max(1, H / 8) (4 px at 32 px).</summary>
    public int? Padding { get; init; }

    /// <summary>Smallest area fraction of <see cref="AugmentationCrop.RandomResizedCrop"/>. Default 0.35 (the paper's 0.08 is meant for 224 px photographs).</summary>
    public double MinCropArea { get; init; } = 0.35;

    /// <summary>Largest area fraction of <see cref="AugmentationCrop.RandomResizedCrop"/>. Default 1.</summary>
    public double MaxCropArea { get; init; } = 1.0;

    /// <summary>Aspect ratios of <see cref="AugmentationCrop.RandomResizedCrop"/> are log-uniform in [1/this, this]. Default 4/3.</summary>
    public double MaxAspectRatio { get; init; } = 4.0 / 3.0;

    /// <summary>Flip horizontally with probability 0.5. Default true.</summary>
    public bool HorizontalFlip { get; init; } = true;

    /// <summary>Brightness factor uniform in [1 - this, 1 + this]. Default 0.2; 0 disables.</summary>
    public double Brightness { get; init; } = 0.2;

    /// <summary>Contrast factor (around each image's mean grey) uniform in [1 - this, 1 + this]. Default 0.2; 0 disables.</summary>
    public double Contrast { get; init; } = 0.2;

    /// <summary>Saturation factor (around each pixel's grey) uniform in [1 - this, 1 + this]. Default 0.2; 0 disables.</summary>
    public double Saturation { get; init; } = 0.2;

    internal void Validate()
    {
        if (Padding is < 0) throw new ArgumentException($"Augmentation Padding must be >= 0; got {Padding}.");
        if (!(MinCropArea > 0 && MinCropArea <= MaxCropArea && MaxCropArea <= 1))
            throw new ArgumentException($"Augmentation crop areas must satisfy 0 < MinCropArea <= MaxCropArea <= 1; got {MinCropArea} and {MaxCropArea}.");
        if (!(MaxAspectRatio >= 1)) throw new ArgumentException($"Augmentation MaxAspectRatio must be >= 1; got {MaxAspectRatio}.");
        foreach (var (name, v) in new[] { ("Brightness", Brightness), ("Contrast", Contrast), ("Saturation", Saturation) })
            if (!(v >= 0 && v < 1)) throw new ArgumentException($"Augmentation {name} must be in [0, 1); got {v}.");
    }
}
