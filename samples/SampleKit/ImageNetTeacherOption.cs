using EmbeddingDistillation.Networks;
using EmbeddingDistillation.Samples.CommandLine;
using TorchSharp;
using static TorchSharp.torch;

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

    /// <summary>
    /// The frozen teacher's <see cref="ImageNetResNet18Options.FeatureMean"/>: the mean pooled (un-normalised) ImageNet
    /// feature of <paramref name="batches"/> (the training images, clean view), each seen at <paramref name="imageSize"/> px.
    /// </summary>
    /// <param name="options">The teacher's options (model file, input adapter).</param>
    /// <param name="imageSize">The size the teacher sees every image at.</param>
    /// <param name="batches">Image batches [n, 3, H, W] as the trainer would give them; each is disposed after use.</param>
    /// <param name="device">The device to run on.</param>
    public static float[] PooledFeatureMean(ImageNetResNet18Options options, int imageSize, IEnumerable<Tensor> batches, Device device)
    {
        var network = ImageNetResNet18.Load(FeatureDimension, options with { Normalize = false, FeatureMean = null });
        using var resized = new ResizedInputNetwork(network, imageSize, imageSize);
        resized.Module.to(device).eval();
        using var noGrad = no_grad();
        Tensor? sum = null;
        long count = 0;
        foreach (var batch in batches)
        {
            using var scope = NewDisposeScope();
            using var images = batch;
            var features = resized.forward(images.to(device)).to_type(ScalarType.Float64).sum(new long[] { 0 });
            sum = sum is null ? features.MoveToOuterDisposeScope() : sum.add_(features);
            count += images.shape[0];
        }
        if (sum is null || count == 0) throw new ArgumentException("The feature mean needs at least one image.", nameof(batches));
        using (sum) return (sum / count).to_type(ScalarType.Float32).cpu().data<float>().ToArray();
    }
}
