using EmbeddingDistillation.Data;
using Microsoft.Extensions.Logging;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Vision;

/// <summary>
/// An <see cref="IEmbeddingDataset"/> over image files: decodes, (optionally) crops to the box and degrades,
/// and applies the paper's train or test pipeline. Labels are the dataset's class ids.
/// </summary>
public class ImageDataset : IEmbeddingDataset, IImageBatchSource
{
    private readonly ImageRecord[] _records;
    private readonly int[] _labels;
    private int _corrupt;

    /// <summary>Creates a dataset over <paramref name="records"/> of <paramref name="layout"/>.</summary>
    /// <param name="layout">The dataset (its root resolves the records' paths).</param>
    /// <param name="records">The images, e.g. a part of <see cref="PaperSplits"/>; all of the layout when null.</param>
    /// <param name="options">Options (defaults: paper pipelines at 224 px).</param>
    /// <param name="name">Name for logs; defaults to the layout's name.</param>
    public ImageDataset(DatasetLayout layout, IReadOnlyList<ImageRecord>? records = null, ImageDatasetOptions? options = null, string? name = null)
    {
        Layout = layout;
        Options = options ?? new ImageDatasetOptions();
        Options.LowQuality?.Validate();
        Transform = new ImageTransform(Options.Transform);
        _records = (records ?? layout.Records).ToArray();
        _labels = _records.Select(r => Options.Unlabelled ? DatasetLabels.Unlabelled : r.ClassId).ToArray();
        Name = name ?? layout.Name;
    }

    /// <summary>Creates the dataset of one part of a split, named "&lt;dataset&gt; &lt;part&gt;".</summary>
    /// <param name="split">The split.</param>
    /// <param name="part">One of its parts (Train, Validation, Test).</param>
    /// <param name="options">Options.</param>
    public static ImageDataset FromSplit(DatasetSplit split, SplitPart part, ImageDatasetOptions? options = null) =>
        new(split.Layout, part.Records, options, $"{split.Layout.Name} {part.Name}");

    /// <summary>The layout the records come from.</summary>
    public DatasetLayout Layout { get; }

    /// <summary>The options.</summary>
    public ImageDatasetOptions Options { get; }

    /// <summary>The transform built from the options.</summary>
    internal ImageTransform Transform { get; }

    /// <summary>The images of this dataset.</summary>
    public IReadOnlyList<ImageRecord> Records => _records;

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public int Count => _records.Length;

    /// <inheritdoc/>
    public IReadOnlyList<int> Labels => _labels;

    internal int ImageSize => Options.Transform.ImageSize;

    int IImageBatchSource.ImageSize => ImageSize;

    internal virtual bool HasTeacherView => false;

    bool IImageBatchSource.HasTeacherView => HasTeacherView;

    /// <summary>How many corrupt images were replaced by zeros so far (with <see cref="ImageDatasetOptions.SkipCorruptImages"/>).</summary>
    public int CorruptImageCount => Volatile.Read(ref _corrupt);

    /// <inheritdoc/>
    public Tensor LoadImages(IReadOnlyList<int> indices, bool augment, int seed) => Load(indices, augment, seed, teacher: false);

    /// <summary>Decodes the images of <paramref name="indices"/> into one array and wraps it as a [B, 3, S, S] tensor (parallel over samples).</summary>
    private protected Tensor Load(IReadOnlyList<int> indices, bool augment, int seed, bool teacher)
    {
        ArgumentNullException.ThrowIfNull(indices);
        int length = Transform.SampleLength;
        var data = new float[(long)indices.Count * length];
        SampleParallel.For(indices.Count, new ParallelOptions(), i =>
        {
            var slot = data.AsSpan(i * length, length);
            if (teacher) FillSample(indices[i], i, augment, seed, Span<float>.Empty, slot);
            else FillSample(indices[i], i, augment, seed, slot, Span<float>.Empty);
        });
        return tensor(data, [indices.Count, 3, ImageSize, ImageSize]);
    }

    void IImageBatchSource.FillSample(int index, int position, bool augment, int batchSeed, Span<float> destination, Span<float> teacherDestination)
        => FillSample(index, position, augment, batchSeed, destination, teacherDestination);

    /// <summary>Writes one sample's student view, or its teacher view, into the caller's buffer (see <see cref="IImageBatchSource.FillSample"/>).</summary>
    internal void FillSample(int index, int position, bool augment, int batchSeed, Span<float> destination, Span<float> teacherDestination)
    {
        if ((uint)index >= (uint)_records.Length)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"{Name} has {_records.Length} samples.");
        var record = _records[index];
        string path = Layout.FullPath(record);
        RgbImage image;
        try
        {
            image = ImageDecoder.Decode(path);
        }
        catch (ImageDataException e) when (Options.SkipCorruptImages && File.Exists(path))
        {
            int count = Interlocked.Increment(ref _corrupt);
            Options.Logger?.LogWarning("Skipping corrupt image {File} (filled with zeros): {Reason}. {Count} corrupt image(s) skipped so far.", path, e.Message, count);
            destination.Clear();
            teacherDestination.Clear();
            return;
        }
        if (Options.CropToBoundingBox && record.Box is BoundingBox box)
        {
            var (left, top, w, h) = box.ToPixelRect(image.Width, image.Height);
            image = image.Crop(left, top, w, h);
        }
        var random = ImageTransform.SampleRandom(batchSeed, position, index);
        var geometry = Transform.Draw(image.Width, image.Height, augment, random);
        if (!teacherDestination.IsEmpty)
            Transform.Apply(image, geometry, teacherDestination);
        if (!destination.IsEmpty)
        {
            // The student's view: the same crop, degraded after it when LowQuality is set (the network input loses
            // the same resolution whatever the source file's size).
            try { Transform.Apply(image, geometry, destination, Options.LowQuality); }
            catch (ImageDataException e) { throw new ImageDataException(path, "low-quality re-encoding failed: " + e.Message, null, e); }
        }
    }
}

/// <summary>
/// Cross-quality distillation data: the student's view (<see cref="IEmbeddingDataset.LoadImages"/>) is the
/// degraded image, the teacher's (<see cref="ITeacherViewDataset.LoadTeacherImages"/>) the clean one, with the
/// same crop and flip for the same seed (the degradation keeps the image size, and the geometry is drawn from
/// the same per-sample random source).
/// </summary>
public sealed class CrossQualityDataset : ImageDataset, ITeacherViewDataset
{
    /// <summary>Creates the dataset; <paramref name="lowQuality"/> defaults to <see cref="LowQualityOptions"/>' defaults.</summary>
    /// <param name="layout">The dataset.</param>
    /// <param name="records">The images (all of the layout when null).</param>
    /// <param name="lowQuality">The student's degradation.</param>
    /// <param name="options">Other options (their LowQuality is replaced by <paramref name="lowQuality"/>).</param>
    /// <param name="name">Name for logs.</param>
    public CrossQualityDataset(DatasetLayout layout, IReadOnlyList<ImageRecord>? records = null, LowQualityOptions? lowQuality = null, ImageDatasetOptions? options = null, string? name = null)
        : base(layout, records, (options ?? new ImageDatasetOptions()) with { LowQuality = lowQuality ?? new LowQualityOptions() }, name)
    {
    }

    /// <inheritdoc/>
    internal override bool HasTeacherView => true;

    /// <inheritdoc/>
    public Tensor LoadTeacherImages(IReadOnlyList<int> indices, bool augment, int seed) => Load(indices, augment, seed, teacher: true);
}
