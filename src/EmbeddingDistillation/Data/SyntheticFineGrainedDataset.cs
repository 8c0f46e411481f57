using System.Diagnostics;

namespace EmbeddingDistillation.Data;

/// <summary>
/// The embedded default dataset: a synthetic fine-grained image set generated deterministically from a seed, so the
/// library can be tried, tested and benchmarked without downloading images. A class is a specific combination of
/// shape x colour pair x pattern; each individual attribute is shared by many classes, so retrieving the class
/// means seeing the combination, through pose, scale, position, clutter, colour, noise and occlusion nuisances.
/// </summary>
/// <remarks>
/// Labels are 0..C-1; images are stored class by class (class c holds images c x ImagesPerClass ...). Class c's
/// attributes depend only on (Seed, c) and image j of class c only on (Seed, c, j) and the nuisance options, so a
/// larger ClassCount or ImagesPerClass extends a set without changing the images it already had.
/// See docs/synthetic-dataset.md.
/// </remarks>
public sealed class SyntheticFineGrainedDataset : InMemoryImageDataset
{
    private SyntheticFineGrainedDataset(byte[] pixels, int[] labels, SyntheticDatasetOptions options, SyntheticClass[] classes, TimeSpan elapsed)
        : base(pixels, labels.Length, options.ImageSize, options.ImageSize, labels,
               options.Dataset ?? new InMemoryDatasetOptions { Name = "synthetic-fine-grained" })
    {
        GeneratorOptions = options;
        Classes = classes;
        GenerationTime = elapsed;
    }

    /// <summary>The options the images were generated with.</summary>
    public SyntheticDatasetOptions GeneratorOptions { get; }

    /// <summary>The attribute combination of each class, indexed by label.</summary>
    internal IReadOnlyList<SyntheticClass> Classes { get; }

    /// <summary>A readable description of class <paramref name="label"/>: shape, colours and pattern, e.g. "Star red/white Stripes".</summary>
    /// <param name="label">A class label in [0, class count).</param>
    public string DescribeClass(int label) =>
        label >= 0 && label < Classes.Count ? Classes[label].ToString()
            : throw new ArgumentOutOfRangeException(nameof(label), label, $"The dataset has {Classes.Count} classes.");

    /// <summary>Wall-clock time the rasterisation took (for reports).</summary>
    public TimeSpan GenerationTime { get; }

    /// <summary>Generates the dataset (in parallel over images; the result does not depend on the thread count).</summary>
    /// <param name="options">Sizes, seed and nuisance strengths; null means the defaults (100 classes x 50 images, 32 px).</param>
    public static SyntheticFineGrainedDataset Generate(SyntheticDatasetOptions? options = null)
    {
        options ??= new SyntheticDatasetOptions();
        options.Validate();
        var watch = Stopwatch.StartNew();
        var classes = SelectClasses(options.ClassCount, options.Seed);
        var perClass = options.ImagesPerClass;
        var count = options.ClassCount * perClass;
        var plane = 3 * options.ImageSize * options.ImageSize;
        var pixels = new byte[(long)count * plane];
        var labels = new int[count];
        Parallel.For(0, count, i =>
        {
            var label = i / perClass;
            labels[i] = label;
            var rng = SplitMix64.Derive(options.Seed, label, i % perClass);
            SyntheticRasterizer.Render(classes[label], options, ref rng, pixels.AsSpan(i * plane, plane));
        });
        return new SyntheticFineGrainedDataset(pixels, labels, options, classes, watch.Elapsed);
    }

    /// <summary>
    /// Picks <paramref name="classCount"/> distinct (shape, colour pair, pattern) combinations: a seeded shuffle of
    /// all 384, so attributes are shared evenly and the train and test halves draw from the same vocabulary.
    /// </summary>
    private static SyntheticClass[] SelectClasses(int classCount, int seed)
    {
        var combos = new List<(SyntheticShape, SyntheticColourScheme, SyntheticPattern)>();
        foreach (var shape in Enum.GetValues<SyntheticShape>())
            foreach (var colours in SyntheticColourSchemes.All)
                foreach (var pattern in Enum.GetValues<SyntheticPattern>())
                    combos.Add((shape, colours, pattern));
        var rng = SplitMix64.Derive(seed, -1, 0xC1A55);
        rng.Shuffle(combos);
        return combos.Take(classCount).Select((c, i) => new SyntheticClass(i, c.Item1, c.Item2, c.Item3)).ToArray();
    }
}
