using System.Runtime.InteropServices;
using EmbeddingDistillation.Networks;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Training;

/// <summary>
/// The teacher's outputs per sample index, computed on first use: its embedding and, when distillation terms read
/// them (hint, attention), its tapped feature maps. Valid only when the teacher's input for a sample never changes
/// (the <see cref="TeacherView.Clean"/> view): then a frozen teacher's output never changes either, and every later
/// epoch skips the teacher's forward pass entirely.
/// </summary>
/// <remarks>
/// The embeddings stay on the training device. Feature maps are far larger (a 1024-channel 14x14 map is 800 KB per
/// image in float32), so they live in host memory, optionally in float16, and move to the device per batch; when the
/// first batch shows that every image's maps would exceed the memory budget, the cache switches itself off and the
/// teacher runs at every step, as without a cache.
/// </remarks>
internal sealed class TeacherEmbeddingCache : IDisposable
{
    private readonly bool[] _filled;
    private readonly IReadOnlyList<string> _taps;
    private readonly bool _halfMaps;
    private readonly long _maxMapBytes;
    private Tensor? _table;
    private readonly SortedDictionary<string, Tensor> _maps = new(StringComparer.Ordinal);

    /// <param name="count">Samples in the dataset.</param>
    /// <param name="taps">The teacher taps the terms read (empty: embeddings only).</param>
    /// <param name="halfPrecisionMaps">Store the maps in float16 (half the memory; the terms read them converted back).</param>
    /// <param name="maxMapBytes">The host memory the maps of all samples may take.</param>
    public TeacherEmbeddingCache(int count, IReadOnlyCollection<string>? taps = null, bool halfPrecisionMaps = false, long maxMapBytes = long.MaxValue)
    {
        _filled = new bool[count];
        _taps = taps is null ? [] : [.. taps.Order(StringComparer.Ordinal)];
        _halfMaps = halfPrecisionMaps;
        _maxMapBytes = maxMapBytes;
    }

    public int FilledCount => _filled.Count(f => f);

    /// <summary>The taps whose maps are cached (empty: embeddings only).</summary>
    public IReadOnlyList<string> Taps => _taps;

    /// <summary>Set when the maps would exceed the budget: nothing is cached, the teacher runs at every step.</summary>
    public bool OverBudget { get; private set; }

    /// <summary>The host bytes the maps of every sample take (or would take, when <see cref="OverBudget"/>); 0 before the first batch.</summary>
    public long MapBytes { get; private set; }

    /// <summary>
    /// The teacher's outputs for <paramref name="indices"/>: cached rows, computing missing ones with <paramref name="embed"/>.
    /// </summary>
    /// <param name="indices">Sample indices of the batch.</param>
    /// <param name="embed">Runs the teacher on the given sample indices (no gradient), returning its embedding [n, D]
    /// on the training device and the maps of <see cref="Taps"/>.</param>
    public EmbeddingOutput Get(int[] indices, Func<int[], EmbeddingOutput> embed)
    {
        if (OverBudget) return embed(indices);
        var missing = indices.Where(i => !_filled[i]).Distinct().ToArray();
        if (missing.Length > 0)
        {
            using var output = embed(missing);
            if (_table is null && !Allocate(output)) return embed(indices);
            using var scope = NewDisposeScope();
            using (var idx = tensor(missing.Select(i => (long)i).ToArray(), device: output.Embedding.device))
                _table!.index_copy_(0, idx, output.Embedding.detach());
            using (var hostIdx = tensor(missing.Select(i => (long)i).ToArray()))
                foreach (var (tap, map) in _maps)
                    map.index_copy_(0, hostIdx, output.Feature(tap).detach().to(map.dtype).cpu());
            foreach (var i in missing) _filled[i] = true;
        }
        using var rowsOnDevice = tensor(indices.Select(i => (long)i).ToArray(), device: _table!.device);
        var embedding = _table.index_select(0, rowsOnDevice);
        if (_maps.Count == 0) return new EmbeddingOutput(embedding);
        using var rows = tensor(indices.Select(i => (long)i).ToArray());
        var features = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (tap, map) in _maps)
        {
            using var selected = map.index_select(0, rows);
            features[tap] = selected.to(embedding.device).to(embedding.dtype);
        }
        return new EmbeddingOutput(embedding, features);
    }

    /// <summary>Creates the tables from the first batch's shapes; false (and <see cref="OverBudget"/>) when the maps would not fit.</summary>
    private bool Allocate(EmbeddingOutput first)
    {
        long bytes = 0;
        foreach (var tap in _taps)
        {
            var map = first.Feature(tap);
            long perSample = map.shape.Skip(1).Aggregate(1L, (a, b) => a * b);
            bytes += _filled.Length * perSample * (_halfMaps ? 2 : map.element_size());
        }
        MapBytes = bytes;
        if (bytes > _maxMapBytes)
        {
            OverBudget = true;
            return false;
        }
        var e = first.Embedding;
        _table = zeros(_filled.Length, e.shape[1], dtype: e.dtype, device: e.device);
        _table.DetachFromDisposeScope();
        foreach (var tap in _taps)
        {
            var map = first.Feature(tap);
            var table = zeros([_filled.Length, .. map.shape.Skip(1)], dtype: _halfMaps ? ScalarType.Float16 : map.dtype);
            table.DetachFromDisposeScope();
            _maps[tap] = table;
        }
        return true;
    }

    /// <summary>
    /// Writes the filled rows and the tables, so that a resumed run starts with exactly this cache: which images are
    /// embedded, and in which batch, decides the teacher's targets to the last bit (a convolution's result depends on
    /// the batch it runs in), so a cache rebuilt after a resume would not give the uninterrupted run's numbers.
    /// </summary>
    public void Write(BinaryWriter w)
    {
        w.Write(_filled.Length);
        foreach (var f in _filled) w.Write(f);
        w.Write(_table is not null);
        if (_table is null) return;
        w.Write(_table.shape[1]);
        w.Write((int)_table.dtype);
        WriteValues(w, _table);
        // The maps after the embeddings: a cache written before maps were cached simply ends here.
        w.Write(_maps.Count);
        foreach (var (tap, map) in _maps)
        {
            w.Write(tap);
            w.Write((int)map.dtype);
            w.Write((int)(map.dim() - 1));
            foreach (var d in map.shape.Skip(1)) w.Write(d);
            WriteValues(w, map);
        }
    }

    /// <summary>Restores what <see cref="Write"/> wrote; the embeddings go to <paramref name="device"/>, the maps stay on the host.</summary>
    public void Read(BinaryReader r, Device device)
    {
        int count = r.ReadInt32();
        if (count != _filled.Length)
            throw new InvalidDataException($"the teacher cache was saved for {count} images, this run has {_filled.Length}.");
        var filled = new bool[count];
        for (int i = 0; i < count; i++) filled[i] = r.ReadBoolean();
        DisposeTables();
        if (!r.ReadBoolean())
        {
            Array.Copy(filled, _filled, count);
            return;
        }
        long columns = r.ReadInt64();
        var dtype = (ScalarType)r.ReadInt32();
        var table = ReadValues(r, [count, columns], dtype);
        var maps = new SortedDictionary<string, Tensor>(StringComparer.Ordinal);
        int saved = r.BaseStream.Position < r.BaseStream.Length ? r.ReadInt32() : 0;
        for (int k = 0; k < saved; k++)
        {
            string tap = r.ReadString();
            var mapType = (ScalarType)r.ReadInt32();
            var shape = new long[r.ReadInt32() + 1];
            shape[0] = count;
            for (int d = 1; d < shape.Length; d++) shape[d] = r.ReadInt64();
            maps[tap] = ReadValues(r, shape, mapType);
        }
        if (!maps.Keys.SequenceEqual(_taps))
        {
            table.Dispose();
            foreach (var m in maps.Values) m.Dispose();
            throw new InvalidDataException($"the teacher cache was saved with the maps of [{string.Join(", ", maps.Keys)}], " +
                $"this run reads [{string.Join(", ", _taps)}].");
        }
        Array.Copy(filled, _filled, count);
        _table = table.to(device);
        if (!ReferenceEquals(_table, table)) table.Dispose();
        _table.DetachFromDisposeScope();
        foreach (var (tap, map) in maps) _maps[tap] = map;
    }

    private static void WriteValues(BinaryWriter w, Tensor t)
    {
        // The values as they are (float64, float32 or float16), in one block: last.ckpt is written at every epoch end.
        using var scope = NewDisposeScope();
        var host = t.detach().to(CPU).contiguous();
        switch (host.dtype)
        {
            case ScalarType.Float64: w.Write(MemoryMarshal.AsBytes(host.data<double>().ToArray().AsSpan())); break;
            case ScalarType.Float16: w.Write(MemoryMarshal.AsBytes(host.data<Half>().ToArray().AsSpan())); break;
            default: w.Write(MemoryMarshal.AsBytes(host.to_type(ScalarType.Float32).data<float>().ToArray().AsSpan())); break;
        }
    }

    /// <summary>Reads what <see cref="WriteValues"/> wrote for a tensor of <paramref name="shape"/>, on the host, not in any dispose scope.</summary>
    private static Tensor ReadValues(BinaryReader r, long[] shape, ScalarType dtype)
    {
        long values = shape.Aggregate(1L, (a, b) => a * b);
        using var scope = NewDisposeScope();
        var t = dtype switch
        {
            ScalarType.Float64 => tensor(MemoryMarshal.Cast<byte, double>(ReadExactly(r, values * sizeof(double))).ToArray(), shape),
            ScalarType.Float16 => tensor(MemoryMarshal.Cast<byte, Half>(ReadExactly(r, values * 2)).ToArray(), shape),
            _ => tensor(MemoryMarshal.Cast<byte, float>(ReadExactly(r, values * sizeof(float))).ToArray(), shape).to_type(dtype),
        };
        t = t.MoveToOuterDisposeScope();
        t.DetachFromDisposeScope();
        return t;
    }

    private static byte[] ReadExactly(BinaryReader r, long length)
    {
        var bytes = r.ReadBytes(checked((int)length));
        if (bytes.Length != length) throw new EndOfStreamException("the teacher cache's rows are truncated.");
        return bytes;
    }

    private void DisposeTables()
    {
        _table?.Dispose();
        _table = null;
        foreach (var m in _maps.Values) m.Dispose();
        _maps.Clear();
    }

    public void Dispose() => DisposeTables();
}
