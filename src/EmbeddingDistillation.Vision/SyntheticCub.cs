using System.Globalization;
using System.Text;
using EmbeddingDistillation.Data;

namespace EmbeddingDistillation.Vision;

/// <summary>
/// Writes the embedded synthetic fine-grained dataset (<see cref="SyntheticFineGrainedDataset"/>) as a CUB-200-2011
/// folder: <c>images.txt</c>, <c>image_class_labels.txt</c>, <c>classes.txt</c>, <c>train_test_split.txt</c> and
/// <c>images/NNN.Class_Name/*.jpg</c>, so that everything that reads CUB (<see cref="Cub200.Read"/>, the paper
/// pipeline) can run on generated images of any size without a download.
/// </summary>
/// <remarks>
/// The paper splits CUB by class id (1-100 train, 101-200 test), so the first half of the generated classes get ids
/// 1, 2, ... and the second half 101, 102, ...: whatever the class count, the paper's split trains on the first half
/// and tests on the second (at most 200 classes, 100 per half). <c>train_test_split.txt</c> holds CUB's per-image
/// flag (every other image of a class), which the paper's split does not use. The folder is written under a temporary
/// name and renamed at the end, so an interrupted write never leaves a half dataset at <c>root</c>.
/// </remarks>
public static class SyntheticCub
{
    /// <summary>The most classes a CUB layout can hold with the paper's split by id: 100 training and 100 test classes.</summary>
    public const int MaxClasses = 200;

    /// <summary>The class id of the paper's first test class: CUB ids above 100 are test classes.</summary>
    private const int FirstTestClassId = 101;

    /// <summary>
    /// Generates the synthetic dataset of <paramref name="options"/> and writes it as a CUB-200-2011 folder at
    /// <paramref name="root"/>, then reads it back with <see cref="Cub200.Read"/>.
    /// </summary>
    /// <param name="root">The folder to create (the dataset root, like <c>CUB_200_2011/</c>); it must not exist or be empty.</param>
    /// <param name="options">Classes (2-200), images per class, image size and seed of the synthetic set; null: its defaults (100 x 50, 32 px).</param>
    /// <param name="jpegQuality">JPEG quality of the image files, 1-100 (default 95).</param>
    /// <returns>The layout read back from the written folder (class ids as described in the remarks).</returns>
    /// <exception cref="ArgumentOutOfRangeException">More than 200 or fewer than 2 classes, or a quality outside 1-100.</exception>
    /// <exception cref="IOException"><paramref name="root"/> already holds files.</exception>
    public static DatasetLayout Write(string root, SyntheticDatasetOptions? options = null, int jpegQuality = 95)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        options ??= new SyntheticDatasetOptions();
        if (options.ClassCount is < 2 or > MaxClasses)
            throw new ArgumentOutOfRangeException(nameof(options), options.ClassCount,
                $"A CUB layout holds 2 to {MaxClasses} classes (ids 1-100 train, 101-200 test); got ClassCount {options.ClassCount}.");
        if (jpegQuality is < 1 or > 100)
            throw new ArgumentOutOfRangeException(nameof(jpegQuality), jpegQuality, "JPEG quality must be in [1, 100].");
        root = Path.GetFullPath(root);
        if (Directory.Exists(root) && Directory.EnumerateFileSystemEntries(root).Any())
            throw new IOException($"'{root}' already holds files: give a new or empty folder for the synthetic CUB dataset (nothing was written).");

        var dataset = SyntheticFineGrainedDataset.Generate(options);
        string partial = root.TrimEnd(Path.DirectorySeparatorChar) + ".partial-" + Guid.NewGuid().ToString("N")[..8];
        try
        {
            WriteFolder(partial, dataset, jpegQuality);
            if (Directory.Exists(root)) Directory.Delete(root);   // empty, checked above
            Directory.Move(partial, root);
        }
        catch
        {
            if (Directory.Exists(partial)) Directory.Delete(partial, recursive: true);
            throw;
        }
        return Cub200.Read(root);
    }

    /// <summary>The CUB class id of synthetic label <paramref name="label"/>: the first half 1, 2, ..., the second half 101, 102, ....</summary>
    /// <param name="label">The synthetic label, 0 to <paramref name="classCount"/> - 1.</param>
    /// <param name="classCount">The number of classes written (2-200).</param>
    public static int ClassId(int label, int classCount)
    {
        if (classCount is < 2 or > MaxClasses)
            throw new ArgumentOutOfRangeException(nameof(classCount), classCount, $"A CUB layout holds 2 to {MaxClasses} classes.");
        if (label < 0 || label >= classCount)
            throw new ArgumentOutOfRangeException(nameof(label), label, $"Labels are 0 to {classCount - 1}.");
        int trainClasses = (classCount + 1) / 2;
        return label < trainClasses ? label + 1 : FirstTestClassId + label - trainClasses;
    }

    private static void WriteFolder(string folder, SyntheticFineGrainedDataset dataset, int jpegQuality)
    {
        int classCount = dataset.GeneratorOptions.ClassCount, perClass = dataset.GeneratorOptions.ImagesPerClass;
        var names = Enumerable.Range(0, classCount).Select(l => $"{ClassId(l, classCount):D3}.{FileSafe(dataset.DescribeClass(l))}").ToArray();
        foreach (var name in names) Directory.CreateDirectory(Path.Combine(folder, "images", name));

        Parallel.For(0, dataset.Count, i =>
        {
            int label = i / perClass, image = i % perClass;
            File.WriteAllBytes(Path.Combine(folder, "images", ImagePath(names[label], image)), ImageDecoder.EncodeJpeg(Interleaved(dataset, i), jpegQuality));
        });

        var images = new StringBuilder();
        var labels = new StringBuilder();
        var split = new StringBuilder();
        for (int i = 0; i < dataset.Count; i++)
        {
            int id = i + 1, label = i / perClass, image = i % perClass;
            images.Append(CultureInfo.InvariantCulture, $"{id} {ImagePath(names[label], image)}\n");
            labels.Append(CultureInfo.InvariantCulture, $"{id} {ClassId(label, classCount)}\n");
            split.Append(CultureInfo.InvariantCulture, $"{id} {(image % 2 == 0 ? 1 : 0)}\n");
        }
        var classes = string.Concat(Enumerable.Range(0, classCount).Select(l => $"{ClassId(l, classCount).ToString(CultureInfo.InvariantCulture)} {names[l]}\n"));
        File.WriteAllText(Path.Combine(folder, "images.txt"), images.ToString());
        File.WriteAllText(Path.Combine(folder, "image_class_labels.txt"), labels.ToString());
        File.WriteAllText(Path.Combine(folder, "classes.txt"), classes);
        File.WriteAllText(Path.Combine(folder, "train_test_split.txt"), split.ToString());
    }

    /// <summary>CUB's file naming: <c>001.Black_footed_Albatross/Black_footed_Albatross_0001.jpg</c>.</summary>
    private static string ImagePath(string classFolder, int image) =>
        $"{classFolder}/{classFolder[4..]}_{(image + 1).ToString("D4", CultureInfo.InvariantCulture)}.jpg";

    /// <summary>"Star red/white Dots" -> "Star_red_white_Dots".</summary>
    private static string FileSafe(string name) =>
        new(name.Select(ch => char.IsAsciiLetterOrDigit(ch) ? ch : '_').ToArray());

    /// <summary>Image <paramref name="index"/> of the dataset ([3, H, W] planes) as interleaved RGB.</summary>
    private static RgbImage Interleaved(SyntheticFineGrainedDataset dataset, int index)
    {
        int h = dataset.Height, w = dataset.Width, plane = h * w;
        var planes = dataset.Pixels.Span.Slice(index * 3 * plane, 3 * plane);
        var rgb = new byte[3 * plane];
        for (int p = 0; p < plane; p++)
        {
            rgb[3 * p] = planes[p];
            rgb[3 * p + 1] = planes[plane + p];
            rgb[3 * p + 2] = planes[2 * plane + p];
        }
        return new RgbImage(w, h, rgb);
    }
}
