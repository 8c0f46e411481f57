using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Vision;

/// <summary>One batch to load: sample indices and the batch seed of its augmentation.</summary>
/// <param name="Indices">Sample indices in [0, Count).</param>
/// <param name="Seed">The batch seed (each sample's randomness derives from it, its position and its index).</param>
internal sealed record BatchRequest(IReadOnlyList<int> Indices, int Seed);

/// <summary>A loaded batch. Dispose it (or let the consumer's dispose scope collect its tensors) after the step.</summary>
internal sealed class ImageBatch : IDisposable
{
    internal ImageBatch(int number, BatchRequest request, int[] labels, Tensor images, Tensor? teacherImages)
    {
        Number = number;
        Request = request;
        Labels = labels;
        Images = images;
        TeacherImages = teacherImages;
    }

    /// <summary>0-based position of the batch in the requested sequence.</summary>
    public int Number { get; }

    /// <summary>The request this batch answers.</summary>
    public BatchRequest Request { get; }

    /// <summary>The labels of the samples, in order.</summary>
    public int[] Labels { get; }

    /// <summary>The (student) images, float32 [B, 3, S, S], created on the consumer's thread (and dispose scope).</summary>
    public Tensor Images { get; }

    /// <summary>The teacher's view, float32 [B, 3, S, S], when the source has one and the loader was asked for it; otherwise null.</summary>
    public Tensor? TeacherImages { get; }

    /// <summary>The labels as an int64 tensor [B] on the CPU.</summary>
    public Tensor LabelsTensor() => tensor(Labels.Select(l => (long)l).ToArray(), [Labels.Length]);

    /// <inheritdoc/>
    public void Dispose()
    {
        Images.Dispose();
        TeacherImages?.Dispose();
    }
}

/// <summary>Options of <see cref="PrefetchingBatchLoader"/>.</summary>
internal sealed record BatchLoaderOptions
{
    /// <summary>Threads decoding and augmenting samples in parallel. Default <see cref="Environment.ProcessorCount"/>.</summary>
    public int WorkerCount { get; init; } = Environment.ProcessorCount;

    /// <summary>
    /// Batches prepared ahead of the consumer (finished or being filled; also the bounded channel's capacity).
    /// Counting the batch the consumer is using (released when it asks for the next one), at most
    /// MaxReadyBatches + 1 batches are alive at once. Default 2.
    /// </summary>
    public int MaxReadyBatches { get; init; } = 2;

    /// <summary>Training augmentation (true, default) or the deterministic test pipeline.</summary>
    public bool Augment { get; init; } = true;

    /// <summary>Also load the teacher's view when the source has one (cross-quality). Default true.</summary>
    public bool LoadTeacherView { get; init; } = true;
}

/// <summary>
/// Decodes and augments batches on worker threads while the model trains: the samples of a batch are filled
/// in parallel (<see cref="BatchLoaderOptions.WorkerCount"/>) into one float[] per batch, at most
/// <see cref="BatchLoaderOptions.MaxReadyBatches"/> batches are prepared ahead (bounded memory), and the consumer receives them in
/// request order, each wrapped once as a contiguous float32 tensor on the consumer's thread. Results do not
/// depend on scheduling (each sample's randomness comes from the batch seed, its position and index). A failure
/// (e.g. an <see cref="ImageDataException"/> naming the file) is rethrown to the consumer after the batches
/// before it; cancellation stops the workers.
/// </summary>
internal sealed class PrefetchingBatchLoader
{
    private readonly IImageBatchSource _source;
    private readonly BatchLoaderOptions _options;

    /// <summary>Creates a loader over <paramref name="source"/>.</summary>
    /// <param name="source">An <see cref="ImageDataset"/>, <see cref="CrossQualityDataset"/> or other source.</param>
    /// <param name="options">Options (defaults documented on <see cref="BatchLoaderOptions"/>).</param>
    public PrefetchingBatchLoader(IImageBatchSource source, BatchLoaderOptions? options = null)
    {
        _source = source ?? throw new ArgumentNullException(nameof(source));
        _options = options ?? new BatchLoaderOptions();
        if (_options.WorkerCount < 1) throw new ArgumentOutOfRangeException(nameof(options), _options.WorkerCount, "WorkerCount must be at least 1.");
        if (_options.MaxReadyBatches < 1) throw new ArgumentOutOfRangeException(nameof(options), _options.MaxReadyBatches, "MaxReadyBatches must be at least 1.");
    }

    /// <summary>The options.</summary>
    public BatchLoaderOptions Options => _options;

    /// <summary>Loads <paramref name="batches"/> in order, blocking while the next batch is not ready.</summary>
    /// <param name="batches">The batches of an epoch (enumerated lazily by the producer).</param>
    /// <param name="cancellationToken">Stops loading; the consumer gets an <see cref="OperationCanceledException"/>.</param>
    public IEnumerable<ImageBatch> Load(IEnumerable<BatchRequest> batches, CancellationToken cancellationToken = default)
    {
        var enumerator = LoadAsync(batches, cancellationToken).GetAsyncEnumerator(cancellationToken);
        try
        {
            while (enumerator.MoveNextAsync().AsTask().GetAwaiter().GetResult())
                yield return enumerator.Current;
        }
        finally
        {
            enumerator.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    /// <summary>Loads <paramref name="batches"/> in order as an async stream.</summary>
    /// <param name="batches">The batches of an epoch (enumerated lazily by the producer).</param>
    /// <param name="cancellationToken">Stops loading.</param>
    public async IAsyncEnumerable<ImageBatch> LoadAsync(IEnumerable<BatchRequest> batches, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batches);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var channel = Channel.CreateBounded<RawBatch>(new BoundedChannelOptions(_options.MaxReadyBatches)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        // One slot per alive batch: taken by the producer before filling, given back when the consumer moves on.
        using var slots = new SemaphoreSlim(_options.MaxReadyBatches + 1);
        Exception? failure = null;
        var producer = Task.Run(async () =>
        {
            try
            {
                await Produce(batches, channel.Writer, slots, stop.Token).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                failure = e;
            }
            finally
            {
                channel.Writer.TryComplete();
            }
        }, CancellationToken.None);

        try
        {
            int size = _source.ImageSize;
            while (await channel.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (channel.Reader.TryRead(out var raw))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    long b = raw.Request.Indices.Count;
                    var images = tensor(raw.Images, [b, 3, size, size]);
                    var teacher = raw.TeacherImages is null ? null : tensor(raw.TeacherImages, [b, 3, size, size]);
                    yield return new ImageBatch(raw.Number, raw.Request, raw.Labels, images, teacher);
                    slots.Release(); // the consumer asked for the next batch: it is done with this one
                }
            }
            await producer.ConfigureAwait(false);
            if (failure is OperationCanceledException && cancellationToken.IsCancellationRequested)
                cancellationToken.ThrowIfCancellationRequested();
            if (failure is not null)
                ExceptionDispatchInfo.Capture(failure).Throw();
        }
        finally
        {
            // The consumer stopped early, was cancelled or failed: stop the workers and wait for them.
            stop.Cancel();
            await producer.ConfigureAwait(false);
        }
    }

    private async Task Produce(IEnumerable<BatchRequest> batches, ChannelWriter<RawBatch> writer, SemaphoreSlim slots, CancellationToken token)
    {
        int length = 3 * _source.ImageSize * _source.ImageSize;
        bool teacherView = _options.LoadTeacherView && _source.HasTeacherView;
        var labels = _source.Labels;
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = _options.WorkerCount, CancellationToken = token };
        int number = 0;
        foreach (var request in batches)
        {
            token.ThrowIfCancellationRequested();
            var indices = request.Indices ?? throw new ArgumentException($"Batch {number} has no indices.", nameof(batches));
            foreach (int index in indices)
                if ((uint)index >= (uint)_source.Count)
                    throw new ArgumentOutOfRangeException(nameof(batches), index, $"Batch {number} asks for sample {index}; {_source.Name} has {_source.Count}.");
            await slots.WaitAsync(token).ConfigureAwait(false);
            var images = new float[(long)indices.Count * length];
            var teacher = teacherView ? new float[images.Length] : null;
            SampleParallel.For(indices.Count, parallel, i =>
            {
                var slot = images.AsSpan(i * length, length);
                var teacherSlot = teacher is null ? Span<float>.Empty : teacher.AsSpan(i * length, length);
                _source.FillSample(indices[i], i, _options.Augment, request.Seed, slot, teacherSlot);
            });
            var batchLabels = indices.Select(i => labels[i]).ToArray();
            await writer.WriteAsync(new RawBatch(number++, request, batchLabels, images, teacher), token).ConfigureAwait(false);
        }
    }

    private sealed record RawBatch(int Number, BatchRequest Request, int[] Labels, float[] Images, float[]? TeacherImages);
}
