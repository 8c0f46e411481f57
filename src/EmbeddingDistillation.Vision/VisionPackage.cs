namespace EmbeddingDistillation.Vision;

/// <summary>
/// The image-dataset package (CUB-200-2011, Cars-196, Stanford Online Products, image folders): layout readers
/// (<see cref="Cub200"/>, <see cref="Cars196"/>, <see cref="StanfordOnlineProducts"/>, <see cref="ImageFolder"/>),
/// <see cref="PaperSplits"/>, <see cref="ImageDataset"/> / <see cref="CrossQualityDataset"/> with torchvision-equivalent
/// transforms (<see cref="ImageTransform"/>), and the <see cref="PrefetchingBatchLoader"/>. This type names the package version.
/// </summary>
public static class VisionPackage
{
    /// <summary>The informational version of this assembly.</summary>
    public static string Version => typeof(VisionPackage).Assembly.GetName().Version?.ToString() ?? "0.0.0";
}
