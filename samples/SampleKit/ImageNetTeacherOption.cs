using EmbeddingDistillation.Networks;
using EmbeddingDistillation.Samples.CommandLine;

namespace EmbeddingDistillation.Samples;

/// <summary>
/// <c>--teacher imagenet-resnet18</c>, as the quickstart and the paper pipeline take it: ML.NET's ImageNet ResNet-18
/// (<see cref="ImageNetResNet18"/>), fine-tuned with a new head or, with <c>--freeze-teacher</c>, teaching its pooled
/// ImageNet features.
/// </summary>
public static class ImageNetTeacherOption
{
    /// <summary>The <c>--teacher</c> value.</summary>
    public const string Name = "imagenet-resnet18";

    /// <summary>The frozen teacher's embedding dimension: the pooled features of its last stage.</summary>
    public const int FeatureDimension = 512;

    /// <summary>Refuses the command line when no <c>--imagenet-model</c> is given and ResNet18.onnx is in none of the places looked at.</summary>
    /// <param name="check">The command line's checks.</param>
    /// <param name="imageNetModel">The <c>--imagenet-model</c> value, or null.</param>
    public static void RequireModelFile(OptionChecks check, string? imageNetModel)
    {
        if (imageNetModel is not null || ImageNetResNet18.FindModelFile() is not null) return;
        check.Fail($"Option --teacher {Name}: ResNet18.onnx of the NuGet package {ImageNetResNet18.PackageId} {ImageNetResNet18.PackageVersion} " +
            $"was not found (looked in: {string.Join(", ", ImageNetResNet18.ModelFileLocations())}). Restore the package (docs/teachers.md: " +
            $"<PackageDownload Include=\"{ImageNetResNet18.PackageId}\" Version=\"[{ImageNetResNet18.PackageVersion}]\" />) or give --imagenet-model FILE.");
    }
}
