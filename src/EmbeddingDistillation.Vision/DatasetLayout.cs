namespace EmbeddingDistillation.Vision;

/// <summary>
/// The annotations of one dataset on disk: the root directory, every image with its class (and box), and the
/// class names. Produced by the layout readers (<see cref="Cub200"/>, <see cref="Cars196"/>,
/// <see cref="StanfordOnlineProducts"/>, <see cref="ImageFolder"/>); split it with <see cref="PaperSplits"/>.
/// </summary>
/// <param name="Name">The dataset name, e.g. "CUB-200-2011".</param>
/// <param name="Root">The dataset root; <see cref="ImageRecord.RelativePath"/> is relative to it.</param>
/// <param name="Records">Every image, in the order of the official annotation files.</param>
/// <param name="ClassNames">Class name by class id (empty when the layout has no names).</param>
public sealed record DatasetLayout(string Name, string Root, IReadOnlyList<ImageRecord> Records, IReadOnlyDictionary<int, string> ClassNames)
{
    /// <summary>The full path of <paramref name="record"/>'s image file.</summary>
    /// <param name="record">A record of this layout.</param>
    public string FullPath(ImageRecord record) => Path.Combine(Root, record.RelativePath.Replace('/', Path.DirectorySeparatorChar));

    /// <summary>The distinct class ids, ascending.</summary>
    public IReadOnlyList<int> ClassIds => Records.Select(r => r.ClassId).Distinct().Order().ToArray();
}
