using System.Diagnostics;
using EmbeddingDistillation.Data;
using EmbeddingDistillation.Samples.CommandLine;
using EmbeddingDistillation.Vision;

namespace EmbeddingDistillation.Samples.PaperPipelines;

/// <summary>
/// <c>--make-synthetic-cub DIR</c>: writes the synthetic fine-grained dataset as a CUB-200-2011 folder
/// (<see cref="SyntheticCub.Write"/>) and exits, so the pipeline can run on it with <c>--dataset cub --root DIR</c>.
/// </summary>
internal static class SyntheticCubMaker
{
    public const int DefaultClasses = 200;
    public const int DefaultImagesPerClass = 30;
    public const int DefaultSize = 64;

    /// <summary>The checks of the generating mode: its own options, a new or empty folder, and no pipeline input.</summary>
    public static OptionChecks Validate(PaperSettings s, OptionChecks check)
    {
        string dir = s.MakeSyntheticCub!;
        if (s.Dataset is not null || s.Root is not null)
            check.Fail($"Option --make-synthetic-cub writes a dataset and exits; run the pipeline on it with a second command (--dataset cub --root {dir}) instead of giving --dataset or --root here.");
        if (File.Exists(dir)) check.Fail($"Option --make-synthetic-cub: '{dir}' is a file; give a new or empty folder.");
        else if (Directory.Exists(dir) && Directory.EnumerateFileSystemEntries(dir).Any())
            check.Fail($"Option --make-synthetic-cub: folder '{dir}' already holds files; give a new or empty folder (nothing is overwritten).");
        return check.InRange("--synthetic-classes", s.SyntheticClasses, 2, SyntheticCub.MaxClasses)
            .AtLeast("--synthetic-images-per-class", s.SyntheticImagesPerClass, 2)
            .InRange("--synthetic-size", s.SyntheticSize, 8, 1024);
    }

    /// <summary>Writes the folder and prints what it holds and the command that trains on it.</summary>
    public static int Run(PaperSettings s, TextWriter log)
    {
        var options = new SyntheticDatasetOptions
        {
            ClassCount = s.SyntheticClasses ?? DefaultClasses,
            ImagesPerClass = s.SyntheticImagesPerClass ?? DefaultImagesPerClass,
            ImageSize = s.SyntheticSize ?? DefaultSize,
            Seed = s.Seed,
        };
        var clock = Stopwatch.StartNew();
        var layout = SyntheticCub.Write(s.MakeSyntheticCub!, options);
        var split = PaperSplits.Cub(layout, validationFraction: 0);
        log.WriteLine($"Wrote the synthetic fine-grained dataset (seed {options.Seed}) as a CUB-200-2011 folder in {clock.Elapsed.TotalSeconds:F1} s: " +
            $"{layout.Root}, {options.ClassCount} classes x {options.ImagesPerClass} JPEGs of {options.ImageSize} px " +
            $"({split.Train.ClassCount} training classes, ids 1-{split.Train.ClassCount}; {split.Test.ClassCount} test classes, ids 101-{100 + split.Test.ClassCount}).");
        log.WriteLine($"Run the pipeline on it: PaperPipelines --dataset cub --root {layout.Root} --recipe scratch --report REPORT");
        return ExitCodes.Success;
    }
}
