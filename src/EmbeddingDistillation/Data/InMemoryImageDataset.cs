using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Data;

/// <summary>
/// Images held in memory as 8-bit RGB planes (one byte array laid out [N, 3, H, W]) with their labels. Batches are
/// gathered, converted to float32 in [0, 1], augmented on the whole batch with tensor ops when training, and
/// normalised per channel. Bytes rather than a native tensor keep memory at a quarter of float32 and give the
/// dataset no native handle to dispose.
/// </summary>
public class InMemoryImageDataset : IEmbeddingDataset
{
    private readonly byte[] _pixels;
    private readonly int[] _labels;
    private readonly float[] _mean;
    private readonly float[] _std;

    /// <summary>Creates a dataset from raw pixels.</summary>
    /// <param name="pixels">count x 3 x height x width bytes, layout [N, 3, H, W] (channel planes R, G, B per image). Not copied: do not modify it afterwards.</param>
    /// <param name="count">N, the number of images (at least 1).</param>
    /// <param name="height">H in pixels.</param>
    /// <param name="width">W in pixels.</param>
    /// <param name="labels">N labels (class ids >= 0, or <see cref="DatasetLabels.Unlabelled"/>).</param>
    /// <param name="options">Name, normalisation and augmentation; null means the defaults.</param>
    public InMemoryImageDataset(byte[] pixels, int count, int height, int width, IReadOnlyList<int> labels, InMemoryDatasetOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentNullException.ThrowIfNull(labels);
        Options = options ?? new InMemoryDatasetOptions();
        Options.Augmentation.Validate();
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, "An in-memory dataset needs at least one image.");
        if (height < 1 || width < 1) throw new ArgumentException($"Image size must be positive; got {height} x {width}.", nameof(height));
        if (pixels.LongLength != (long)count * 3 * height * width)
            throw new ArgumentException($"Pixel array has {pixels.LongLength} bytes; [N={count}, 3, H={height}, W={width}] needs {(long)count * 3 * height * width}.", nameof(pixels));
        if (labels.Count != count)
            throw new ArgumentException($"Got {labels.Count} labels for {count} images.", nameof(labels));
        for (var i = 0; i < count; i++)
            if (labels[i] < DatasetLabels.Unlabelled)
                throw new ArgumentException($"Label {labels[i]} of image {i} is invalid: labels are >= 0, or {DatasetLabels.Unlabelled} for unlabelled.", nameof(labels));

        _pixels = pixels;
        _labels = labels.ToArray();
        Count = count;
        Height = height;
        Width = width;
        var (mean, std) = ChannelStatistics();
        _mean = ResolveStat(Options.Mean, mean, "Mean");
        _std = ResolveStat(Options.Std, std, "Std");
        if (_std.Any(s => !(s > 0)))
            throw new ArgumentException($"Normalisation Std must be positive per channel; got [{string.Join(", ", _std)}] (a constant-colour dataset has zero std: set Std explicitly).", nameof(options));
    }

    /// <summary>
    /// Creates a dataset from a CPU tensor [N, 3, H, W]: uint8 (0..255) or floating point in [0, 1] (rounded to 8 bits).
    /// </summary>
    /// <param name="images">The images; not kept (copied to bytes).</param>
    /// <param name="labels">N labels.</param>
    /// <param name="options">Name, normalisation and augmentation; null means the defaults.</param>
    public static InMemoryImageDataset FromTensor(Tensor images, IReadOnlyList<int> labels, InMemoryDatasetOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.dim() != 4 || images.shape[1] != 3)
            throw new ArgumentException($"Images must have shape [N, 3, H, W]; got [{string.Join(", ", images.shape)}].", nameof(images));
        using var scope = NewDisposeScope();
        var bytes = images.dtype switch
        {
            ScalarType.Byte => images,
            ScalarType.Float32 or ScalarType.Float64 or ScalarType.Float16 or ScalarType.BFloat16 =>
                images.to(ScalarType.Float32).mul(255).round().clamp(0, 255).to(ScalarType.Byte),
            _ => throw new ArgumentException($"Images must be uint8 or floating point; got {images.dtype}.", nameof(images)),
        };
        var array = bytes.cpu().contiguous().data<byte>().ToArray();
        return new InMemoryImageDataset(array, (int)images.shape[0], (int)images.shape[2], (int)images.shape[3], labels, options);
    }

    /// <inheritdoc />
    public string Name => Options.Name;

    /// <inheritdoc />
    public int Count { get; }

    /// <summary>H, image height in pixels.</summary>
    public int Height { get; }

    /// <summary>W, image width in pixels.</summary>
    public int Width { get; }

    /// <inheritdoc />
    public IReadOnlyList<int> Labels => _labels;

    /// <summary>The options this dataset was built with.</summary>
    public InMemoryDatasetOptions Options { get; }

    /// <summary>The per-channel mean actually used for normalisation (R, G, B).</summary>
    public IReadOnlyList<float> Mean => _mean;

    /// <summary>The per-channel standard deviation actually used for normalisation (R, G, B).</summary>
    public IReadOnlyList<float> Std => _std;

    /// <summary>The raw pixels, layout [N, 3, H, W], 8 bits per channel (for previews and export).</summary>
    public ReadOnlyMemory<byte> Pixels => _pixels;

    /// <inheritdoc />
    public Tensor LoadImages(IReadOnlyList<int> indices, bool augment, int seed)
    {
        DatasetIndices.Validate(indices, Count, Name);
        using var scope = NewDisposeScope();
        var x = BytesOf(indices).to(ScalarType.Float32).div_(255f);
        if (augment) x = BatchAugmentation.Apply(x, indices, seed, Options.Augmentation);
        var mean = torch.tensor(_mean, [1, 3, 1, 1]);
        var std = torch.tensor(_std, [1, 3, 1, 1]);
        return x.sub(mean).div_(std).contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Loads images in [0, 1] without normalisation or augmentation, as float32 [B, 3, H, W] (for previews,
    /// raw-pixel baselines and export).
    /// </summary>
    /// <param name="indices">Sample indices in [0, Count).</param>
    internal Tensor LoadRawImages(IReadOnlyList<int> indices)
    {
        DatasetIndices.Validate(indices, Count, Name);
        using var scope = NewDisposeScope();
        return BytesOf(indices).to(ScalarType.Float32).div_(255f).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The samples' pixels as a uint8 tensor [B, 3, H, W], copied straight into native memory: a managed staging array
    /// per batch (4.8 MB at 224 px, batch 32) cost a fresh .NET allocation and its page faults every step, which made
    /// the median batch load 10x its minimum (30 against 3 ms).
    /// </summary>
    private Tensor BytesOf(IReadOnlyList<int> indices)
    {
        var plane = 3 * Height * Width;
        var batch = torch.empty([indices.Count, 3, Height, Width], dtype: ScalarType.Byte);
        var destination = batch.bytes;
        for (var i = 0; i < indices.Count; i++)
            _pixels.AsSpan(indices[i] * plane, plane).CopyTo(destination.Slice(i * plane, plane));
        return batch;
    }

    private (float[] Mean, float[] Std) ChannelStatistics()
    {
        var hw = Height * Width;
        var sum = new double[3];
        var sumSq = new double[3];
        for (var n = 0; n < Count; n++)
            for (var c = 0; c < 3; c++)
            {
                long s = 0, s2 = 0;
                var offset = (n * 3 + c) * hw;
                for (var p = 0; p < hw; p++)
                {
                    int v = _pixels[offset + p];
                    s += v;
                    s2 += v * v;
                }
                sum[c] += s;
                sumSq[c] += s2;
            }
        var total = (double)Count * hw;
        var mean = new float[3];
        var std = new float[3];
        for (var c = 0; c < 3; c++)
        {
            var m = sum[c] / total / 255.0;
            var variance = Math.Max(0, sumSq[c] / total / (255.0 * 255.0) - m * m);
            mean[c] = (float)m;
            std[c] = (float)Math.Sqrt(variance);
        }
        return (mean, std);
    }

    private static float[] ResolveStat(IReadOnlyList<float>? given, float[] computed, string name)
    {
        if (given is null) return computed;
        if (given.Count != 3) throw new ArgumentException($"Normalisation {name} must have 3 values (R, G, B); got {given.Count}.", nameof(given));
        return given.ToArray();
    }
}
