namespace EmbeddingDistillation.Data;

/// <summary>
/// Maps original class ids to contiguous indices 0..C-1 (sorted by id), for losses that need them (proxy anchor,
/// softmax heads). Datasets and splits keep original ids; re-index only where a loss requires it.
/// </summary>
public sealed class ClassIndexMap
{
    private readonly Dictionary<int, int> _indexOf;

    private ClassIndexMap(int[] classIds)
    {
        ClassIds = classIds;
        _indexOf = new Dictionary<int, int>(classIds.Length);
        for (var i = 0; i < classIds.Length; i++) _indexOf[classIds[i]] = i;
    }

    /// <summary>The original class ids in index order (ascending).</summary>
    public IReadOnlyList<int> ClassIds { get; }

    /// <summary>C, the number of classes.</summary>
    public int ClassCount => ClassIds.Count;

    /// <summary>Builds the map from the distinct labels of <paramref name="labels"/> (unlabelled samples ignored).</summary>
    /// <param name="labels">One label per sample.</param>
    public static ClassIndexMap FromLabels(IReadOnlyList<int> labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var set = new SortedSet<int>();
        for (var i = 0; i < labels.Count; i++)
        {
            if (labels[i] == DatasetLabels.Unlabelled) continue;
            if (labels[i] < 0)
                throw new ArgumentException($"Label {labels[i]} of sample {i} is invalid: labels are >= 0, or {DatasetLabels.Unlabelled} for unlabelled.", nameof(labels));
            set.Add(labels[i]);
        }
        return new ClassIndexMap(set.ToArray());
    }

    /// <summary>The index 0..C-1 of an original class id.</summary>
    /// <param name="classId">An id present in the map.</param>
    public int IndexOf(int classId) =>
        _indexOf.TryGetValue(classId, out var index)
            ? index
            : throw new KeyNotFoundException($"Class id {classId} is not in this map ({ClassCount} classes).");

    /// <summary>Re-indexes a label list; unlabelled samples stay <see cref="DatasetLabels.Unlabelled"/>.</summary>
    /// <param name="labels">Labels whose classes are all in this map.</param>
    public int[] Reindex(IReadOnlyList<int> labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var result = new int[labels.Count];
        for (var i = 0; i < labels.Count; i++)
            result[i] = labels[i] == DatasetLabels.Unlabelled ? DatasetLabels.Unlabelled : IndexOf(labels[i]);
        return result;
    }
}
