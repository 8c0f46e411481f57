using static TorchSharp.torch;

namespace EmbeddingDistillation.Data;

/// <summary>
/// A subset of another dataset (a split, a validation carve, an unlabelled pool): view index i is parent sample
/// <c>ParentIndices[i]</c>. Labels are the parent's (original class ids) unless replaced, e.g. by re-indexed labels
/// or by <see cref="DatasetLabels.Unlabelled"/> to hide them for semi-supervised distillation.
/// </summary>
public sealed class DatasetView : IEmbeddingDataset
{
    private readonly int[] _parentIndices;
    private readonly int[] _labels;

    /// <summary>Creates a view of <paramref name="parent"/>.</summary>
    /// <param name="parent">The underlying dataset.</param>
    /// <param name="indices">Parent sample indices, in view order (duplicates allowed).</param>
    /// <param name="labels">Replacement labels, one per view sample; null keeps the parent's labels.</param>
    /// <param name="name">The view's name; null means "parent[n]".</param>
    public DatasetView(IEmbeddingDataset parent, IReadOnlyList<int> indices, IReadOnlyList<int>? labels = null, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(parent);
        DatasetIndices.Validate(indices, parent.Count, parent.Name);
        Parent = parent;
        _parentIndices = indices.ToArray();
        if (labels is not null && labels.Count != _parentIndices.Length)
            throw new ArgumentException($"Got {labels.Count} replacement labels for a view of {_parentIndices.Length} samples.", nameof(labels));
        if (labels is not null)
            for (var i = 0; i < labels.Count; i++)
                if (labels[i] < DatasetLabels.Unlabelled)
                    throw new ArgumentException($"Label {labels[i]} of view sample {i} is invalid: labels are >= 0, or {DatasetLabels.Unlabelled} for unlabelled.", nameof(labels));
        var parentLabels = parent.Labels;
        _labels = labels?.ToArray() ?? _parentIndices.Select(i => parentLabels[i]).ToArray();
        Name = name ?? $"{parent.Name}[{_parentIndices.Length}]";
    }

    /// <summary>The dataset this view reads from.</summary>
    public IEmbeddingDataset Parent { get; }

    /// <summary>The parent index of each view sample.</summary>
    public IReadOnlyList<int> ParentIndices => _parentIndices;

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public int Count => _parentIndices.Length;

    /// <inheritdoc />
    public IReadOnlyList<int> Labels => _labels;

    /// <inheritdoc />
    public Tensor LoadImages(IReadOnlyList<int> indices, bool augment, int seed)
    {
        DatasetIndices.Validate(indices, Count, Name);
        var mapped = new int[indices.Count];
        for (var i = 0; i < mapped.Length; i++) mapped[i] = _parentIndices[indices[i]];
        return Parent.LoadImages(mapped, augment, seed);
    }
}

/// <summary>Subset helpers for any <see cref="IEmbeddingDataset"/>.</summary>
public static class DatasetExtensions
{
    /// <summary>A view of the samples <paramref name="indices"/> of <paramref name="dataset"/>, keeping their labels.</summary>
    /// <param name="dataset">The dataset.</param>
    /// <param name="indices">Sample indices in [0, Count).</param>
    /// <param name="name">Optional name of the view.</param>
    public static DatasetView Subset(this IEmbeddingDataset dataset, IReadOnlyList<int> indices, string? name = null) =>
        new(dataset, indices, null, name);

    /// <summary>A view of <paramref name="indices"/> whose labels are all <see cref="DatasetLabels.Unlabelled"/> (semi-supervised distillation).</summary>
    /// <param name="dataset">The dataset.</param>
    /// <param name="indices">Sample indices in [0, Count).</param>
    /// <param name="name">Optional name of the view.</param>
    public static DatasetView SubsetUnlabelled(this IEmbeddingDataset dataset, IReadOnlyList<int> indices, string? name = null) =>
        new(dataset, indices, Enumerable.Repeat(DatasetLabels.Unlabelled, indices?.Count ?? 0).ToArray(), name);
}
