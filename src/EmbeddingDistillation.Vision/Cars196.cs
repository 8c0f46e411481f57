namespace EmbeddingDistillation.Vision;

/// <summary>
/// Readers of Stanford Cars-196: the official <c>cars_annos.mat</c> with the <c>car_ims/</c> folder, and a
/// class-per-folder layout (e.g. the common re-packaging with <c>train/&lt;class name&gt;/</c> and <c>test/&lt;class name&gt;/</c>).
/// </summary>
public static class Cars196
{
    /// <summary>The dataset name used in layouts and summaries.</summary>
    public const string Name = "Cars-196";

    /// <summary>
    /// Reads <c>cars_annos.mat</c> (variable <c>annotations</c>: struct array with fields relative_im_path,
    /// bbox_x1, bbox_y1, bbox_x2, bbox_y2, class, test; optional <c>class_names</c> cell array) from
    /// <paramref name="root"/>. Class ids are the official 1-based ids. The MATLAB boxes are 1-based and
    /// inclusive; they become 0-based boxes: x = x1 - 1, width = x2 - x1 + 1.
    /// </summary>
    /// <param name="root">The directory holding cars_annos.mat and car_ims/.</param>
    /// <param name="annotationFile">The annotation file name inside <paramref name="root"/>.</param>
    /// <exception cref="ImageDataException">The file is missing, corrupt or lacks a needed field (file named).</exception>
    public static DatasetLayout Read(string root, string annotationFile = "cars_annos.mat")
    {
        string path = Path.Combine(root, annotationFile);
        var variables = MatFile.Read(path);
        if (!variables.TryGetValue("annotations", out var value) || value is not MatStruct annotations)
            throw new ImageDataException(path, "no struct array variable 'annotations'.");
        string[] needed = ["relative_im_path", "bbox_x1", "bbox_y1", "bbox_x2", "bbox_y2", "class"];
        foreach (string field in needed)
            if (!annotations.FieldNames.Contains(field))
                throw new ImageDataException(path, $"'annotations' has no field '{field}' (fields: {string.Join(", ", annotations.FieldNames)}).");
        bool hasTest = annotations.FieldNames.Contains("test");

        var records = new List<ImageRecord>(annotations.Count);
        for (int i = 0; i < annotations.Count; i++)
        {
            if (annotations.Get(i, "relative_im_path") is not MatChar file || file.Text.Length == 0)
                throw new ImageDataException(path, $"annotation {i + 1}: relative_im_path is not a non-empty char array.");
            double x1 = Scalar(path, annotations, i, "bbox_x1"), y1 = Scalar(path, annotations, i, "bbox_y1");
            double x2 = Scalar(path, annotations, i, "bbox_x2"), y2 = Scalar(path, annotations, i, "bbox_y2");
            if (x2 < x1 || y2 < y1)
                throw new ImageDataException(path, $"annotation {i + 1} ({file.Text}): bounding box ({x1},{y1})-({x2},{y2}) is inverted.");
            int classId = (int)Scalar(path, annotations, i, "class");
            bool? train = hasTest ? Scalar(path, annotations, i, "test") == 0 : null;
            records.Add(new ImageRecord(file.Text.Replace('\\', '/'), classId,
                new BoundingBox(x1 - 1, y1 - 1, x2 - x1 + 1, y2 - y1 + 1), null, train));
        }

        var names = new Dictionary<int, string>();
        if (variables.TryGetValue("class_names", out var namesValue) && namesValue is MatCell cell)
            for (int c = 0; c < cell.Cells.Length; c++)
                if (cell.Cells[c] is MatChar name) names[c + 1] = name.Text;
        return new DatasetLayout(Name, root, records, names);
    }

    /// <summary>
    /// Reads a class-per-folder layout: every image under <c>&lt;root&gt;/&lt;split&gt;/&lt;class name&gt;/</c> for each
    /// split folder in <paramref name="splitFolders"/> (default "train" and "test"; images of one class name in
    /// several splits join one class), or directly under <c>&lt;root&gt;/&lt;class name&gt;/</c> when no split folder exists.
    /// Class ids are 1-based positions in <paramref name="classOrder"/> when given (pass the official class names
    /// in official order so that the paper's 98/98 split matches), otherwise in ordinal name order.
    /// </summary>
    /// <param name="root">The layout root.</param>
    /// <param name="classOrder">Class names in official order, or null for ordinal sorting.</param>
    /// <param name="splitFolders">Split folder names; their images get <see cref="ImageRecord.OfficialTrain"/> = (folder is the first one).</param>
    /// <exception cref="ImageDataException">The root is missing or a folder is not in <paramref name="classOrder"/>.</exception>
    public static DatasetLayout ReadClassFolders(string root, IReadOnlyList<string>? classOrder = null, IReadOnlyList<string>? splitFolders = null)
    {
        splitFolders ??= ["train", "test"];
        var present = splitFolders.Where(s => Directory.Exists(Path.Combine(root, s))).ToArray();
        var roots = present.Length > 0 ? present : [""];
        var classNames = roots.SelectMany(s => ImageFolder.ClassFolders(Path.Combine(root, s))).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var order = classOrder ?? classNames;
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < order.Count; i++) ids[order[i]] = i + 1;

        var records = new List<ImageRecord>();
        foreach (string split in roots)
        {
            bool? train = split.Length == 0 ? null : split == roots[0];
            foreach (string className in classNames)
            {
                if (!ids.TryGetValue(className, out int id))
                    throw new ImageDataException(Path.Combine(root, split, className), "class folder is not in the given class order.");
                foreach (string file in ImageFolder.ImageFiles(Path.Combine(root, split, className)))
                    records.Add(new ImageRecord(Path.GetRelativePath(root, file).Replace('\\', '/'), id, null, null, train));
            }
        }
        return new DatasetLayout(Name, root, records, ids.ToDictionary(kv => kv.Value, kv => kv.Key));
    }

    private static double Scalar(string path, MatStruct annotations, int index, string field)
    {
        if (annotations.Get(index, field) is not MatNumeric n || n.Values.Length != 1)
            throw new ImageDataException(path, $"annotation {index + 1}: field '{field}' is not a numeric scalar.");
        return n.Values[0];
    }
}
