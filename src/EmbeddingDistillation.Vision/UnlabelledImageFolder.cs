using EmbeddingDistillation.Data;

namespace EmbeddingDistillation.Vision;

/// <summary>
/// The unlabelled pool of semi-supervised distillation: every image (.jpg, .jpeg, .png, any case) anywhere below a
/// folder, whatever the sub-folders, each with label −1 (<see cref="DatasetLabels.Unlabelled"/>). Batches of such a
/// dataset carry only the distillation terms (<c>TrainingData.Unlabelled</c>).
/// </summary>
public static class UnlabelledImageFolder
{
    /// <summary>Reads the layout: all images below <paramref name="root"/> (ordinal path order), class id −1, no class names.</summary>
    /// <param name="root">The folder.</param>
    /// <param name="name">The dataset name for logs and summaries.</param>
    /// <exception cref="ImageDataException">The folder is missing or holds no image.</exception>
    public static DatasetLayout Read(string root, string name = "Unlabelled")
    {
        ArgumentNullException.ThrowIfNull(root);
        if (!Directory.Exists(root))
            throw new ImageDataException(root, "unlabelled image folder not found.");
        var records = ImageFolder.ImageFiles(root)
            .Select(f => new ImageRecord(Path.GetRelativePath(root, f).Replace('\\', '/'), DatasetLabels.Unlabelled))
            .ToArray();
        if (records.Length == 0)
            throw new ImageDataException(root, "no .jpg/.jpeg/.png image found below the unlabelled image folder.");
        return new DatasetLayout(name, root, records, new Dictionary<int, string>());
    }

    /// <summary>
    /// The unlabelled dataset of <paramref name="root"/> (labels −1). With <paramref name="lowQuality"/> it is a
    /// <see cref="CrossQualityDataset"/> (student sees the degraded image, teacher the clean one), so semi-supervised
    /// and cross-quality distillation combine.
    /// </summary>
    /// <param name="root">The folder.</param>
    /// <param name="options">Image options (their <see cref="ImageDatasetOptions.Unlabelled"/> is forced to true).</param>
    /// <param name="lowQuality">The student's degradation for cross-quality distillation; null for clean images.</param>
    /// <param name="name">The dataset name.</param>
    public static ImageDataset Open(string root, ImageDatasetOptions? options = null, LowQualityOptions? lowQuality = null, string name = "Unlabelled")
    {
        var layout = Read(root, name);
        var o = (options ?? new ImageDatasetOptions()) with { Unlabelled = true };
        return lowQuality is null
            ? new ImageDataset(layout, null, o with { LowQuality = null }, name)
            : new CrossQualityDataset(layout, null, lowQuality, o, name);
    }
}
