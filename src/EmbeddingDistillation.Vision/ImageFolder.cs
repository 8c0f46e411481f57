namespace EmbeddingDistillation.Vision;

/// <summary>
/// Reader of the generic image-folder layout: one sub-folder per class under the root, images (.jpg, .jpeg,
/// .png, any case) anywhere below it. Like torchvision's ImageFolder, classes are the folder names in ordinal
/// order with 0-based ids, and files are sorted ordinally.
/// </summary>
public static class ImageFolder
{
    private static readonly HashSet<string> Extensions = new(StringComparer.OrdinalIgnoreCase) { ".jpg", ".jpeg", ".png" };

    /// <summary>Reads the layout under <paramref name="root"/>.</summary>
    /// <param name="root">The directory with one sub-folder per class.</param>
    /// <param name="name">The dataset name for logs and summaries.</param>
    /// <exception cref="ImageDataException">The root is missing or has no class folders.</exception>
    public static DatasetLayout Read(string root, string name = "ImageFolder")
    {
        var classes = ClassFolders(root);
        if (classes.Count == 0)
            throw new ImageDataException(root, "no class sub-folders found.");
        var records = new List<ImageRecord>();
        var names = new Dictionary<int, string>();
        for (int c = 0; c < classes.Count; c++)
        {
            names[c] = classes[c];
            foreach (string file in ImageFiles(Path.Combine(root, classes[c])))
                records.Add(new ImageRecord(Path.GetRelativePath(root, file).Replace('\\', '/'), c));
        }
        return new DatasetLayout(name, root, records, names);
    }

    /// <summary>The class sub-folder names of <paramref name="root"/>, ordinal order.</summary>
    internal static List<string> ClassFolders(string root)
    {
        if (!Directory.Exists(root))
            throw new ImageDataException(root, "image folder root not found.");
        return Directory.GetDirectories(root).Select(d => Path.GetFileName(d)!).Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>The image files below <paramref name="folder"/>, ordinal order of their full paths.</summary>
    internal static IEnumerable<string> ImageFiles(string folder) =>
        Directory.Exists(folder)
            ? Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Where(f => Extensions.Contains(Path.GetExtension(f))).Order(StringComparer.Ordinal)
            : [];
}
