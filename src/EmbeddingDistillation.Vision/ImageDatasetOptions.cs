using Microsoft.Extensions.Logging;

namespace EmbeddingDistillation.Vision;

/// <summary>Options of <see cref="ImageDataset"/> and <see cref="CrossQualityDataset"/>.</summary>
public sealed record ImageDatasetOptions
{
    /// <summary>The image pipelines (default: the paper's 224 px train/test pipelines).</summary>
    public ImageTransformOptions Transform { get; init; } = new();

    /// <summary>Crop each image to its bounding box before the pipeline, when the record has one. Default false (the paper uses whole images).</summary>
    public bool CropToBoundingBox { get; init; }

    /// <summary>
    /// When true, a corrupt or undecodable image does not fail the batch: its slot is filled with zeros (the
    /// mean colour after normalisation), a warning names the file, and <see cref="ImageDataset.CorruptImageCount"/>
    /// counts it. Missing files always throw (a wrong root should not pass silently). Default false.
    /// </summary>
    public bool SkipCorruptImages { get; init; }

    /// <summary>Report every sample as unlabelled (label -1) for semi-supervised distillation. Default false.</summary>
    public bool Unlabelled { get; init; }

    /// <summary>Degrade every image (low-quality view) before the pipeline; null (default) for the clean images.</summary>
    public LowQualityOptions? LowQuality { get; init; }

    /// <summary>Logger for skipped images; null (default) logs nothing.</summary>
    public ILogger? Logger { get; init; }
}
