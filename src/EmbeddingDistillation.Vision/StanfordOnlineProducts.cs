namespace EmbeddingDistillation.Vision;

/// <summary>
/// Reader of the official Stanford Online Products layout (<c>Stanford_Online_Products/</c>): <c>Ebay_train.txt</c>
/// and <c>Ebay_test.txt</c> (header line, then "image_id class_id super_class_id path"), or <c>Ebay_info.txt</c>
/// (same columns, all images) when the split files are absent. Class and super-class ids are kept as in the files.
/// </summary>
public static class StanfordOnlineProducts
{
    /// <summary>The dataset name used in layouts and summaries.</summary>
    public const string Name = "Stanford Online Products";

    /// <summary>Reads the annotations under <paramref name="root"/> (image files are not opened).</summary>
    /// <param name="root">The Stanford_Online_Products directory.</param>
    /// <exception cref="ImageDataException">No annotation file, or a malformed line (file and line named).</exception>
    public static DatasetLayout Read(string root)
    {
        string train = Path.Combine(root, "Ebay_train.txt"), test = Path.Combine(root, "Ebay_test.txt"), info = Path.Combine(root, "Ebay_info.txt");
        var records = new List<ImageRecord>();
        if (File.Exists(train) || File.Exists(test))
        {
            records.AddRange(ReadList(train, true));
            records.AddRange(ReadList(test, false));
        }
        else if (File.Exists(info))
            records.AddRange(ReadList(info, null));
        else
            throw new ImageDataException(Path.Combine(root, "Ebay_train.txt"), "annotation file not found (nor Ebay_test.txt, Ebay_info.txt).");
        return new DatasetLayout(Name, root, records, new Dictionary<int, string>());
    }

    private static IEnumerable<ImageRecord> ReadList(string path, bool? train)
    {
        var seen = new HashSet<int>();
        foreach (var row in AnnotationText.Rows(path, hasHeader: true))
        {
            row.RequireFields(4, "image_id class_id super_class_id path");
            int imageId = row.Int(0, "image_id");
            if (!seen.Add(imageId))
                throw new ImageDataException(path, $"duplicate image id {imageId}.", row.Line);
            yield return new ImageRecord(string.Join(' ', row.Fields.Skip(3)), row.Int(1, "class_id"), null, row.Int(2, "super_class_id"), train);
        }
    }
}
