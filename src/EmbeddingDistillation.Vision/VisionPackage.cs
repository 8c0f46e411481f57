namespace EmbeddingDistillation.Vision;

/// <summary>
/// Entry point of the image-dataset package (CUB-200-2011, Cars-196, Stanford Online Products, image folders).
/// The readers, transforms and loader arrive with the datasets capability; this type names the package version.
/// </summary>
public static class VisionPackage
{
    /// <summary>The informational version of this assembly.</summary>
    public static string Version => typeof(VisionPackage).Assembly.GetName().Version?.ToString() ?? "0.0.0";
}
