using EmbeddingDistillation.Data;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Samples.PaperPipelines;

/// <summary>
/// A training set whose labels are re-indexed to 0..C-1 (proxy-anchor keeps one proxy per class, indexed by the
/// label; CUB and Cars ids start at 1 and SOP's are sparse). Images come from the parent unchanged.
/// </summary>
internal class ClassIndexedDataset : IEmbeddingDataset
{
    private readonly int[] _labels;

    protected ClassIndexedDataset(IEmbeddingDataset parent)
    {
        Parent = parent;
        var map = ClassIndexMap.FromLabels(parent.Labels);
        ClassCount = map.ClassCount;
        _labels = parent.Labels.Select(l => l == DatasetLabels.Unlabelled ? l : map.IndexOf(l)).ToArray();
    }

    /// <summary>The re-indexed view of <paramref name="parent"/>, keeping its teacher view (cross-quality) when it has one.</summary>
    public static ClassIndexedDataset Of(IEmbeddingDataset parent) =>
        parent is ITeacherViewDataset ? new WithTeacherView(parent) : new ClassIndexedDataset(parent);

    protected IEmbeddingDataset Parent { get; }

    /// <summary>C, the number of classes.</summary>
    public int ClassCount { get; }

    public string Name => Parent.Name;

    public int Count => Parent.Count;

    public IReadOnlyList<int> Labels => _labels;

    public Tensor LoadImages(IReadOnlyList<int> indices, bool augment, int seed) => Parent.LoadImages(indices, augment, seed);

    private sealed class WithTeacherView(IEmbeddingDataset parent) : ClassIndexedDataset(parent), ITeacherViewDataset
    {
        public Tensor LoadTeacherImages(IReadOnlyList<int> indices, bool augment, int seed) =>
            ((ITeacherViewDataset)Parent).LoadTeacherImages(indices, augment, seed);
    }
}
