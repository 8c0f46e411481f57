using EmbeddingDistillation.Primitives;
using EmbeddingDistillation.Data;
using EmbeddingDistillation.Evaluation;
using EmbeddingDistillation.Networks;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Export;

/// <summary>
/// An exact nearest-neighbour index of embeddings for deployment: items are identified by a <c>long</c> id (the
/// dataset index by default) and an optional string name (e.g. an image path). Search is exact top-k by Euclidean
/// or cosine distance with the chunked kernel of <see cref="NearestNeighbours"/> (the same code as the evaluation,
/// so the deployed ranking equals the evaluated one). <see cref="Save"/> writes one versioned, checksummed file
/// atomically; <see cref="Load"/> verifies it.
/// </summary>
/// <remarks>
/// The index owns <see cref="Embeddings"/>; dispose it to free them. Search is read-only and may run from several
/// threads at once. <c>k</c> larger than <see cref="Count"/> is clipped to <see cref="Count"/> (every item is
/// returned, nearest first); <c>k &lt; 1</c> throws.
/// </remarks>
public sealed class EmbeddingIndex : IDisposable
{
    /// <summary>The file format version written by <see cref="Save"/> and read by <see cref="Load"/>.</summary>
    internal const int FormatVersion = (int)EmbeddingIndexFile.Version;

    private readonly long[] _ids;
    private readonly string[]? _names;
    private readonly Dictionary<long, int> _rowOfId;
    private long _searchBudget = KnnOptions.DefaultMemoryBudgetBytes;
    // Validated and normalised once, here: a search then costs its matmul and top-k only.
    private readonly PreparedGallery _gallery;

    private EmbeddingIndex(Tensor embeddings, long[] ids, string[]? names, KnnMetric metric, bool validated)
    {
        _gallery = validated ? PreparedGallery.PrepareChecked(embeddings, metric) : PreparedGallery.Prepare(embeddings, metric, "embeddings", "EmbeddingIndex");
        Embeddings = embeddings;
        _ids = ids;
        _names = names;
        Metric = metric;
        _rowOfId = new Dictionary<long, int>(ids.Length);
        for (var i = 0; i < ids.Length; i++) _rowOfId[ids[i]] = i;
    }

    /// <summary>The indexed embeddings [N, D] (float32 or float64, contiguous), owned by the index.</summary>
    public Tensor Embeddings { get; }

    /// <summary>The number of items N.</summary>
    public int Count => _ids.Length;

    /// <summary>The embedding dimension D.</summary>
    public int Dimension => (int)Embeddings.shape[1];

    /// <summary>The distance the index ranks by.</summary>
    public KnnMetric Metric { get; }

    /// <summary>The item ids, one per row, unique.</summary>
    public IReadOnlyList<long> Ids => _ids;

    /// <summary>The item names, one per row, or null when the index was built without names.</summary>
    public IReadOnlyList<string>? Names => _names;

    /// <summary>Working-memory budget of one query chunk in bytes (see <see cref="KnnOptions.MemoryBudgetBytes"/>); not stored in the file.</summary>
    public long SearchMemoryBudgetBytes
    {
        get => _searchBudget;
        set
        {
            if (value <= 0) throw new ArgumentOutOfRangeException(nameof(value), value, "The search memory budget must be positive.");
            _searchBudget = value;
        }
    }

    /// <summary>The row of the item with <paramref name="id"/>, or -1 when there is none.</summary>
    /// <param name="id">An item id.</param>
    public int RowOf(long id) => _rowOfId.TryGetValue(id, out var row) ? row : -1;

    /// <summary>Builds an index from embeddings [N, D]; the tensor is copied (the caller keeps ownership of its own).</summary>
    /// <param name="embeddings">[N, D] float32 or float64, finite, N &gt;= 1, on any device (the index keeps it there).</param>
    /// <param name="ids">One unique id per row; null for 0..N-1.</param>
    /// <param name="names">One name per row (e.g. image paths); null for none.</param>
    /// <param name="options">Metric and search budget; null for <see cref="EmbeddingIndexOptions.Default"/>.</param>
    /// <exception cref="ArgumentException">Bad shape, dtype or values, wrong id/name counts, or duplicate ids.</exception>
    public static EmbeddingIndex Build(Tensor embeddings, IReadOnlyList<long>? ids = null, IReadOnlyList<string>? names = null,
        EmbeddingIndexOptions? options = null)
    {
        TensorChecks.Embeddings(embeddings, nameof(embeddings), "EmbeddingIndex", 1, allowHalf: false, finite: true);
        options ??= EmbeddingIndexOptions.Default;
        var n = embeddings.shape[0];
        if (n > int.MaxValue)
            throw new ArgumentException($"embeddings {TensorChecks.Shape(embeddings)} has more rows than an index supports ({int.MaxValue}).", nameof(embeddings));
        var idArray = ids?.ToArray() ?? Enumerable.Range(0, (int)n).Select(i => (long)i).ToArray();
        if (idArray.Length != n)
            throw new ArgumentException($"ids has {idArray.Length} entries but embeddings has shape {TensorChecks.Shape(embeddings)}: one id per row is required.", nameof(ids));
        var duplicate = EmbeddingIndexFile.FirstDuplicate(idArray);
        if (duplicate is not null)
            throw new ArgumentException($"ids must be unique; id {duplicate} occurs more than once.", nameof(ids));
        string[]? nameArray = null;
        if (names is not null)
        {
            nameArray = names.ToArray();
            if (nameArray.Length != n)
                throw new ArgumentException($"names has {nameArray.Length} entries but embeddings has shape {TensorChecks.Shape(embeddings)}: one name per row is required.", nameof(names));
            var nullAt = Array.IndexOf(nameArray, null);
            if (nullAt >= 0) throw new ArgumentException($"names[{nullAt}] is null.", nameof(names));
        }
        // Owned by the index, not by a dispose scope the caller may have open: the index outlives it.
        var copy = embeddings.detach().clone().contiguous().DetachFromDisposeScope();
        return new EmbeddingIndex(copy, idArray, nameArray, options.Metric, validated: true) { SearchMemoryBudgetBytes = options.SearchMemoryBudgetBytes };
    }

    /// <summary>
    /// Embeds every sample of <paramref name="dataset"/> with <paramref name="network"/> (via
    /// <see cref="EmbeddingExtractor"/>: eval mode, no gradient, the deterministic test view) and indexes the result
    /// as float32 on the CPU.
    /// </summary>
    /// <param name="network">The trained network.</param>
    /// <param name="dataset">The items to index.</param>
    /// <param name="ids">One unique id per sample; null for the dataset indices 0..N-1.</param>
    /// <param name="names">One name per sample; null for none.</param>
    /// <param name="options">Metric, search budget and extraction batch size; null for the defaults.</param>
    /// <param name="cancellationToken">Checked before every batch.</param>
    public static EmbeddingIndex Build(IEmbeddingNetwork network, IEmbeddingDataset dataset, IReadOnlyList<long>? ids = null,
        IReadOnlyList<string>? names = null, EmbeddingIndexOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= EmbeddingIndexOptions.Default;
        using var extracted = EmbeddingExtractor.Extract(network, dataset, options.BatchSize, cancellationToken);
        return Build(extracted.Embeddings, ids, names, options);
    }

    /// <summary>Exact top-k search: for every query row, the <c>min(k, Count)</c> nearest items, nearest first (ties by lower row).</summary>
    /// <param name="queries">[Q, D] or a single query [D]; float32 or float64, finite; moved to the index's device and dtype.</param>
    /// <param name="k">Results per query, at least 1; values above <see cref="Count"/> are clipped to it.</param>
    /// <param name="cancellationToken">Checked between query chunks.</param>
    /// <exception cref="ArgumentException">The query dimension differs from the index's (the message names both shapes).</exception>
    public IReadOnlyList<EmbeddingIndexHit[]> Search(Tensor queries, int k, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(queries);
        ObjectDisposedException.ThrowIf(Embeddings.IsInvalid, this);
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k), k, "k must be at least 1.");
        if (queries.dim() == 1) queries = queries.unsqueeze(0);
        if (queries.dim() != 2 || queries.shape[1] != Dimension)
            throw new ArgumentException(
                $"queries have shape {TensorChecks.Shape(queries)} but the index holds embeddings of shape {TensorChecks.Shape(Embeddings)}: each query must have D = {Dimension} values.",
                nameof(queries));
        var kept = Math.Min(k, Count);
        using var scope = NewDisposeScope();
        var q = queries.detach().to(Embeddings.dtype, Embeddings.device);
        TensorChecks.Embeddings(q, nameof(queries), "EmbeddingIndex", 1, allowHalf: false, finite: true);
        var options = new KnnOptions { Metric = Metric, MemoryBudgetBytes = SearchMemoryBudgetBytes };
        using var result = NearestNeighbours.Search(q, _gallery, kept, options, cancellationToken);
        var rows = result.Indices.cpu().data<long>().ToArray();
        var distances = result.Distances.to(ScalarType.Float64, CPU).data<double>().ToArray();
        var hits = new EmbeddingIndexHit[q.shape[0]][];
        for (var i = 0; i < hits.Length; i++)
        {
            var row = hits[i] = new EmbeddingIndexHit[kept];
            for (var j = 0; j < kept; j++)
            {
                var r = (int)rows[i * kept + j];
                row[j] = new EmbeddingIndexHit(_ids[r], _names?[r], distances[i * kept + j], r);
            }
        }
        return hits;
    }

    /// <summary>Embeds <paramref name="queries"/> with <paramref name="network"/> (as in <see cref="Build(IEmbeddingNetwork, IEmbeddingDataset, IReadOnlyList{long}?, IReadOnlyList{string}?, EmbeddingIndexOptions?, CancellationToken)"/>) and searches.</summary>
    /// <param name="network">The network that embedded the index (same embedding dimension).</param>
    /// <param name="queries">The query samples.</param>
    /// <param name="k">Results per query (clipped to <see cref="Count"/>).</param>
    /// <param name="batchSize">Images per forward pass. Default <see cref="EmbeddingExtractor.DefaultBatchSize"/>.</param>
    /// <param name="cancellationToken">Checked between batches and query chunks.</param>
    public IReadOnlyList<EmbeddingIndexHit[]> Search(IEmbeddingNetwork network, IEmbeddingDataset queries, int k,
        int batchSize = EmbeddingExtractor.DefaultBatchSize, CancellationToken cancellationToken = default)
    {
        using var extracted = EmbeddingExtractor.Extract(network, queries, batchSize, cancellationToken);
        return Search(extracted.Embeddings, k, cancellationToken);
    }

    /// <summary>
    /// Writes the index to one file atomically (a temporary file in the same folder, then a rename): format version,
    /// dtype, N, D, metric, ids, names, the embeddings bit for bit, and a SHA-256 checksum of everything before it.
    /// </summary>
    /// <param name="path">The target file; its folder is created if needed.</param>
    public void Save(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        ObjectDisposedException.ThrowIf(Embeddings.IsInvalid, this);
        using var scope = NewDisposeScope();
        var cpu = Embeddings.detach().cpu().contiguous();
        EmbeddingIndexFile.Write(path, cpu, _ids, _names, Metric);
    }

    /// <summary>Reads an index written by <see cref="Save"/>, verifying its header, sizes and checksum.</summary>
    /// <param name="path">The index file.</param>
    /// <param name="device">Where to keep the embeddings; null for the CPU.</param>
    /// <param name="searchMemoryBudgetBytes">Search budget (see <see cref="SearchMemoryBudgetBytes"/>). Default 512 MiB.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">
    /// The file is truncated, damaged (checksum mismatch), of another format or of an unsupported version; the
    /// message names the file and the problem.
    /// </exception>
    public static EmbeddingIndex Load(string path, Device? device = null, long searchMemoryBudgetBytes = KnnOptions.DefaultMemoryBudgetBytes)
    {
        ArgumentNullException.ThrowIfNull(path);
        var (embeddings, ids, names, metric) = EmbeddingIndexFile.Read(path);
        embeddings.DetachFromDisposeScope();
        if (device is not null && device.type != DeviceType.CPU)
        {
            var moved = embeddings.to(device).DetachFromDisposeScope();
            embeddings.Dispose();
            embeddings = moved;
        }
        try
        {
            return new EmbeddingIndex(embeddings, ids, names, metric, validated: false) { SearchMemoryBudgetBytes = searchMemoryBudgetBytes };
        }
        catch (ArgumentException e)
        {
            embeddings.Dispose();
            throw new InvalidDataException($"Embedding index '{path}': {e.Message}", e);
        }
    }

    /// <summary>Disposes the embeddings.</summary>
    public void Dispose()
    {
        _gallery.Dispose();
        Embeddings.Dispose();
    }
}
