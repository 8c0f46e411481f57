namespace EmbeddingDistillation.Vision;

/// <summary>
/// Reader of the official CUB-200-2011 layout (Caltech-UCSD Birds): <c>images.txt</c>,
/// <c>image_class_labels.txt</c>, <c>classes.txt</c>, <c>train_test_split.txt</c>, <c>bounding_boxes.txt</c> and
/// the <c>images/</c> folder, all under the root (the extracted <c>CUB_200_2011</c> directory).
/// </summary>
public static class Cub200
{
    /// <summary>The dataset name used in layouts and summaries.</summary>
    public const string Name = "CUB-200-2011";

    /// <summary>
    /// Reads the annotations under <paramref name="root"/>. Class ids are the official 1-based ids; boxes come
    /// from <c>bounding_boxes.txt</c> when it exists (x, y, width, height in pixels). Image files are not opened.
    /// </summary>
    /// <param name="root">The CUB_200_2011 directory.</param>
    /// <exception cref="ImageDataException">A required file is missing or a line is malformed (file and line named).</exception>
    public static DatasetLayout Read(string root)
    {
        if (!Directory.Exists(root))
            throw new ImageDataException(root, "CUB-200-2011 root directory not found.");
        string imagesFile = Path.Combine(root, "images.txt");
        string labelsFile = Path.Combine(root, "image_class_labels.txt");
        string classesFile = Path.Combine(root, "classes.txt");
        string splitFile = Path.Combine(root, "train_test_split.txt");
        string boxesFile = Path.Combine(root, "bounding_boxes.txt");

        var classNames = new Dictionary<int, string>();
        foreach (var row in AnnotationText.Rows(classesFile))
        {
            row.RequireFields(2, "class_id class_name");
            int id = row.Int(0, "class_id");
            if (!classNames.TryAdd(id, string.Join(' ', row.Fields.Skip(1))))
                throw new ImageDataException(classesFile, $"duplicate class id {id}.", row.Line);
        }

        var labels = AnnotationText.ById(labelsFile, 2, "image_id class_id");
        var split = File.Exists(splitFile) ? AnnotationText.ById(splitFile, 2, "image_id is_training_image") : null;
        var boxes = File.Exists(boxesFile) ? AnnotationText.ById(boxesFile, 5, "image_id x y width height") : null;

        var records = new List<ImageRecord>();
        var seen = new HashSet<int>();
        foreach (var row in AnnotationText.Rows(imagesFile))
        {
            row.RequireFields(2, "image_id image_name");
            int imageId = row.Int(0, "image_id");
            if (!seen.Add(imageId))
                throw new ImageDataException(imagesFile, $"duplicate image id {imageId}.", row.Line);
            string relative = "images/" + string.Join(' ', row.Fields.Skip(1));

            if (!labels.TryGetValue(imageId, out var labelRow))
                throw new ImageDataException(labelsFile, $"no class label for image id {imageId} (listed in images.txt line {row.Line}).");
            int classId = labelRow.Int(1, "class_id");
            if (classNames.Count > 0 && !classNames.ContainsKey(classId))
                throw new ImageDataException(labelsFile, $"class id {classId} is not listed in classes.txt.", labelRow.Line);

            BoundingBox? box = null;
            if (boxes is not null)
            {
                if (!boxes.TryGetValue(imageId, out var b))
                    throw new ImageDataException(boxesFile, $"no bounding box for image id {imageId}.");
                double w = b.Double(3, "width"), h = b.Double(4, "height");
                if (w <= 0 || h <= 0)
                    throw new ImageDataException(boxesFile, $"bounding box of image id {imageId} has non-positive size {w}x{h}.", b.Line);
                box = new BoundingBox(b.Double(1, "x"), b.Double(2, "y"), w, h);
            }

            bool? train = null;
            if (split is not null)
            {
                if (!split.TryGetValue(imageId, out var s))
                    throw new ImageDataException(splitFile, $"no train/test flag for image id {imageId}.");
                train = s.Int(1, "is_training_image") != 0;
            }
            records.Add(new ImageRecord(relative, classId, box, null, train));
        }
        return new DatasetLayout(Name, root, records, classNames);
    }
}
