namespace EmbeddingDistillation.Data;

/// <summary>Options of <see cref="InMemoryImageDataset"/>.</summary>
public sealed class InMemoryDatasetOptions
{
    /// <summary>The dataset name for logs. Default "in-memory".</summary>
    public string Name { get; init; } = "in-memory";

    /// <summary>
    /// Per-channel (R, G, B) mean subtracted from images in [0, 1]. Null (default) means the per-channel mean of
    /// the stored images, computed once at construction; use <see cref="ImageNormalization.ImageNetMean"/> for
    /// ImageNet-pretrained backbones.
    /// </summary>
    public IReadOnlyList<float>? Mean { get; init; }

    /// <summary>
    /// Per-channel (R, G, B) standard deviation dividing images in [0, 1]. Null (default) means the per-channel
    /// standard deviation of the stored images; use <see cref="ImageNormalization.ImageNetStd"/> for ImageNet-pretrained backbones.
    /// </summary>
    public IReadOnlyList<float>? Std { get; init; }

    /// <summary>Training-time augmentation (used when <c>augment</c> is true). Default: pad-and-crop, flip, mild colour jitter.</summary>
    public ImageAugmentationOptions Augmentation { get; init; } = new();
}

/// <summary>Common normalisation constants.</summary>
public static class ImageNormalization
{
    /// <summary>ImageNet per-channel mean (R, G, B) of torchvision's pretrained models: 0.485, 0.456, 0.406.</summary>
    public static IReadOnlyList<float> ImageNetMean { get; } = [0.485f, 0.456f, 0.406f];

    /// <summary>ImageNet per-channel standard deviation (R, G, B): 0.229, 0.224, 0.225.</summary>
    public static IReadOnlyList<float> ImageNetStd { get; } = [0.229f, 0.224f, 0.225f];
}
