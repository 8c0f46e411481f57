using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Training;

/// <summary>
/// Teacher embeddings per sample index, computed on first use. Valid only when the teacher's input for a sample
/// never changes (the <see cref="TeacherView.Clean"/> view): then a frozen teacher's output never changes either,
/// and every later epoch skips the teacher's forward pass entirely.
/// </summary>
internal sealed class TeacherEmbeddingCache : IDisposable
{
    private readonly bool[] _filled;
    private Tensor? _table;

    public TeacherEmbeddingCache(int count) => _filled = new bool[count];

    public int FilledCount => _filled.Count(f => f);

    /// <summary>The cached embeddings of <paramref name="indices"/>, computing missing ones with <paramref name="embed"/>.</summary>
    /// <param name="indices">Sample indices of the batch.</param>
    /// <param name="embed">Embeds the given sample indices (no gradient), returning [n, D] on the training device.</param>
    public Tensor Get(int[] indices, Func<int[], Tensor> embed)
    {
        var missing = indices.Where(i => !_filled[i]).Distinct().ToArray();
        if (missing.Length > 0)
        {
            using var scope = NewDisposeScope();
            var rows = embed(missing).detach();
            if (_table is null)
            {
                _table = zeros(_filled.Length, rows.shape[1], dtype: rows.dtype, device: rows.device);
                _table.DetachFromDisposeScope();
            }
            using var idx = tensor(missing.Select(i => (long)i).ToArray(), device: rows.device);
            _table.index_copy_(0, idx, rows);
            foreach (var i in missing) _filled[i] = true;
        }
        using var all = tensor(indices.Select(i => (long)i).ToArray(), device: _table!.device);
        return _table.index_select(0, all);
    }

    /// <summary>
    /// Writes the filled rows and the table, so that a resumed run starts with exactly this cache: which images are
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
        // The rows as they are (float32 or float64), in one block: last.ckpt is written at every epoch end.
        using var scope = NewDisposeScope();
        var host = _table.detach().to(CPU).contiguous();
        if (host.dtype == ScalarType.Float64) w.Write(MemoryMarshal.AsBytes(host.data<double>().ToArray().AsSpan()));
        else w.Write(MemoryMarshal.AsBytes(host.to_type(ScalarType.Float32).data<float>().ToArray().AsSpan()));
    }

    /// <summary>Restores what <see cref="Write"/> wrote; the table goes to <paramref name="device"/>.</summary>
    public void Read(BinaryReader r, Device device)
    {
        int count = r.ReadInt32();
        if (count != _filled.Length)
            throw new InvalidDataException($"the teacher cache was saved for {count} images, this run has {_filled.Length}.");
        for (int i = 0; i < count; i++) _filled[i] = r.ReadBoolean();
        _table?.Dispose();
        _table = null;
        if (!r.ReadBoolean()) return;
        long columns = r.ReadInt64();
        var dtype = (ScalarType)r.ReadInt32();
        long values = count * columns;
        using var scope = NewDisposeScope();
        var host = dtype == ScalarType.Float64
            ? tensor(MemoryMarshal.Cast<byte, double>(ReadExactly(r, values * sizeof(double))).ToArray(), [count, columns])
            : tensor(MemoryMarshal.Cast<byte, float>(ReadExactly(r, values * sizeof(float))).ToArray(), [count, columns]).to_type(dtype);
        _table = host.to(device).MoveToOuterDisposeScope();
        _table.DetachFromDisposeScope();
    }

    private static byte[] ReadExactly(BinaryReader r, long length)
    {
        var bytes = r.ReadBytes(checked((int)length));
        if (bytes.Length != length) throw new EndOfStreamException("the teacher cache's rows are truncated.");
        return bytes;
    }

    public void Dispose() => _table?.Dispose();
}
