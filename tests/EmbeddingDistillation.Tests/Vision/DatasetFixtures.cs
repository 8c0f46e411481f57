using System.Globalization;
using System.Text;

namespace EmbeddingDistillation.Tests.Vision;

/// <summary>Tiny datasets in each official layout, generated into a temporary directory.</summary>
internal static class DatasetFixtures
{
    /// <summary>CUB classes used by the fixture: two below the paper's train/test boundary (100), two above.</summary>
    public static readonly int[] CubClasses = [1, 2, 101, 102];
    public const int CubImagesPerClass = 3;

    /// <summary>The CUB fixture's box of image id <paramref name="imageId"/> (x, y, w, h).</summary>
    public static (double X, double Y, double W, double H) CubBox(int imageId) => (2.5 + imageId, 3, 20, 16.5);

    public static void WriteCub(string root)
    {
        var images = new StringBuilder();
        var labels = new StringBuilder();
        var split = new StringBuilder();
        var boxes = new StringBuilder();
        var classes = new StringBuilder();
        int imageId = 0;
        foreach (int c in CubClasses)
        {
            string folder = $"{c:000}.Bird_{c}";
            classes.AppendLine($"{c} {folder}");
            for (int k = 0; k < CubImagesPerClass; k++)
            {
                imageId++;
                string name = $"{folder}/Bird_{c}_{k}.jpg";
                bool wide = imageId % 2 == 0;
                TestImages.WriteJpeg(Path.Combine(root, "images", folder, $"Bird_{c}_{k}.jpg"), wide ? 48 : 36, wide ? 36 : 48, imageId);
                images.AppendLine($"{imageId} {name}");
                labels.AppendLine($"{imageId} {c}");
                split.AppendLine($"{imageId} {(k == 0 ? 0 : 1)}");
                var (x, y, w, h) = CubBox(imageId);
                boxes.AppendLine(string.Create(CultureInfo.InvariantCulture, $"{imageId} {x:0.0} {y:0.0} {w:0.0} {h:0.0}"));
            }
        }
        File.WriteAllText(Path.Combine(root, "images.txt"), images.ToString());
        File.WriteAllText(Path.Combine(root, "image_class_labels.txt"), labels.ToString());
        File.WriteAllText(Path.Combine(root, "train_test_split.txt"), split.ToString());
        File.WriteAllText(Path.Combine(root, "bounding_boxes.txt"), boxes.ToString());
        File.WriteAllText(Path.Combine(root, "classes.txt"), classes.ToString());
    }

    /// <summary>SOP fixture: train classes 1-3 (super 1, 2), test classes 4-5 (super 2, 3), two images each.</summary>
    public static void WriteSop(string root)
    {
        var train = new StringBuilder("image_id class_id super_class_id path\n");
        var test = new StringBuilder("image_id class_id super_class_id path\n");
        int imageId = 0;
        foreach (var (cls, super) in new[] { (1, 1), (2, 1), (3, 2), (4, 2), (5, 3) })
        {
            for (int k = 0; k < 2; k++)
            {
                imageId++;
                string path = $"super{super}_final/{cls}_{k}.JPG";
                TestImages.WriteJpeg(Path.Combine(root, path), 40, 30, imageId);
                (cls <= 3 ? train : test).AppendLine($"{imageId} {cls} {super} {path}");
            }
        }
        File.WriteAllText(Path.Combine(root, "Ebay_train.txt"), train.ToString());
        File.WriteAllText(Path.Combine(root, "Ebay_test.txt"), test.ToString());
    }

    /// <summary>Cars fixture records: (file, x1, y1, x2, y2, class, test).</summary>
    public static readonly (string File, int X1, int Y1, int X2, int Y2, int Class, int Test)[] CarsAnnotations =
    [
        ("car_ims/000001.jpg", 5, 6, 30, 20, 1, 0),
        ("car_ims/000002.jpg", 1, 1, 40, 30, 1, 1),
        ("car_ims/000003.jpg", 10, 4, 25, 28, 98, 0),
        ("car_ims/000004.jpg", 2, 3, 39, 29, 99, 1),
        ("car_ims/000005.jpg", 7, 8, 33, 22, 196, 0),
    ];

    public static void WriteCars(string root, bool compressAnnotations, bool compressNames)
    {
        var fields = new[] { "relative_im_path", "bbox_x1", "bbox_y1", "bbox_x2", "bbox_y2", "class", "test" };
        var elements = CarsAnnotations.Select((a, i) =>
        {
            TestImages.WriteJpeg(Path.Combine(root, a.File), 40, 30, i + 1);
            return new MatV5Writer.Value[]
            {
                new MatV5Writer.Chars(a.File),
                new MatV5Writer.Numeric(MatV5Writer.MxUInt16, MatV5Writer.MiUInt16, [a.X1]),
                new MatV5Writer.Numeric(MatV5Writer.MxUInt16, MatV5Writer.MiUInt16, [a.Y1]),
                new MatV5Writer.Numeric(MatV5Writer.MxDouble, MatV5Writer.MiDouble, [a.X2]),
                new MatV5Writer.Numeric(MatV5Writer.MxInt32, MatV5Writer.MiInt32, [a.Y2]),
                // A double stored as uint8, as MATLAB does to save space.
                new MatV5Writer.Numeric(MatV5Writer.MxDouble, MatV5Writer.MiUInt8, [a.Class]),
                new MatV5Writer.Numeric(MatV5Writer.MxUInt8, MatV5Writer.MiUInt8, [a.Test]),
            };
        }).ToArray();
        var names = Enumerable.Range(1, 196).Select(i => (MatV5Writer.Value)new MatV5Writer.Chars($"Car Model {i} 2012")).ToArray();
        var bytes = new MatV5Writer()
            .Add("annotations", new MatV5Writer.Struct(fields, elements), compressAnnotations)
            .Add("class_names", new MatV5Writer.Cell(names), compressNames)
            .ToArray();
        File.WriteAllBytes(Path.Combine(root, "cars_annos.mat"), bytes);
    }
}
