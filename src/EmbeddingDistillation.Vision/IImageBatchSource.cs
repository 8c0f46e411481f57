using EmbeddingDistillation.Data;

namespace EmbeddingDistillation.Vision;

/// <summary>
/// A dataset that can write one sample's normalised image straight into a caller's buffer, so that the
/// <see cref="PrefetchingBatchLoader"/> can decode samples on worker threads into one contiguous batch array.
/// </summary>
internal interface IImageBatchSource : IEmbeddingDataset
{
    /// <summary>Side length of the square output images.</summary>
    int ImageSize { get; }

    /// <summary>True when the source has a separate teacher view (<see cref="ITeacherViewDataset"/>).</summary>
    bool HasTeacherView { get; }

    /// <summary>
    /// Writes sample <paramref name="index"/> (at <paramref name="position"/> in its batch) as 3 x ImageSize x
    /// ImageSize floats into <paramref name="destination"/>, and its teacher view into
    /// <paramref name="teacherDestination"/> when that is not empty. Thread-safe; the result depends only on
    /// the arguments.
    /// </summary>
    /// <param name="index">Sample index in [0, Count).</param>
    /// <param name="position">Position of the sample in its batch (part of its random seed).</param>
    /// <param name="augment">True for training augmentation.</param>
    /// <param name="batchSeed">The batch seed.</param>
    /// <param name="destination">The (student) view's floats.</param>
    /// <param name="teacherDestination">The teacher view's floats, or empty.</param>
    void FillSample(int index, int position, bool augment, int batchSeed, Span<float> destination, Span<float> teacherDestination);
}
