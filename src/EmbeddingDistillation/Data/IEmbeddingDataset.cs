using static TorchSharp.torch;

namespace EmbeddingDistillation.Data;

/// <summary>
/// A labelled (or unlabelled) set of images that produces batches of image tensors. Implementations: the
/// embedded synthetic dataset here, image datasets in <c>EmbeddingDistillation.Vision</c>.
/// </summary>
public interface IEmbeddingDataset
{
    /// <summary>A short name for logs and reports.</summary>
    string Name { get; }

    /// <summary>The number of samples.</summary>
    int Count { get; }

    /// <summary>The class label of each sample (<see cref="DatasetLabels.Unlabelled"/> for an unlabelled sample).</summary>
    IReadOnlyList<int> Labels { get; }

    /// <summary>
    /// Loads the images of <paramref name="indices"/> as one contiguous float32 CPU tensor [B, 3, H, W],
    /// normalised the way the networks expect.
    /// </summary>
    /// <param name="indices">Sample indices in [0, Count).</param>
    /// <param name="augment">True for training-time augmentation, false for the deterministic test view.</param>
    /// <param name="seed">Seed of the augmentation randomness of this batch (ignored when not augmenting).</param>
    Tensor LoadImages(IReadOnlyList<int> indices, bool augment, int seed);
}

/// <summary>Label conventions of <see cref="IEmbeddingDataset"/>.</summary>
public static class DatasetLabels
{
    /// <summary>The label of an unlabelled sample (semi-supervised distillation: only teacher terms apply).</summary>
    public const int Unlabelled = -1;
}

/// <summary>
/// A dataset whose teacher sees a different view of each sample than the student (cross-quality distillation:
/// the teacher sees the high-quality image, the student the degraded one).
/// </summary>
public interface ITeacherViewDataset : IEmbeddingDataset
{
    /// <summary>Loads the teacher's view of <paramref name="indices"/>, same layout as <see cref="IEmbeddingDataset.LoadImages"/>.</summary>
    /// <param name="indices">Sample indices in [0, Count).</param>
    /// <param name="augment">True for training-time augmentation (same geometric randomness as the student's view for the same seed).</param>
    /// <param name="seed">The batch seed.</param>
    Tensor LoadTeacherImages(IReadOnlyList<int> indices, bool augment, int seed);
}
