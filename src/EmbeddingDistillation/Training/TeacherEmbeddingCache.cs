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

    public void Dispose() => _table?.Dispose();
}
