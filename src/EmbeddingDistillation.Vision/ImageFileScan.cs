using System.Collections.Concurrent;
using System.Diagnostics;

namespace EmbeddingDistillation.Vision;

/// <summary>What is wrong with an image file found by <see cref="ImageFileScan"/>.</summary>
public enum ImageFileProblemKind
{
    /// <summary>The file does not exist (a wrong root or an incomplete download; never skipped).</summary>
    Missing,
    /// <summary>The file exists but cannot be read (permissions, I/O error).</summary>
    Unreadable,
    /// <summary>The file is read but does not decode: empty, unknown format, bad header, truncated or corrupt data.</summary>
    Corrupt,
}

/// <summary>One image that cannot be used.</summary>
public sealed class ImageFileProblem
{
    internal ImageFileProblem(ImageRecord record, string path, ImageFileProblemKind kind, string reason)
    {
        Record = record;
        Path = path;
        Kind = kind;
        Reason = reason;
    }

    /// <summary>The record of the layout.</summary>
    public ImageRecord Record { get; }

    /// <summary>The full path of its file.</summary>
    public string Path { get; }

    /// <summary>What is wrong.</summary>
    public ImageFileProblemKind Kind { get; }

    /// <summary>The decoder's or the file system's message.</summary>
    public string Reason { get; }

    /// <summary>"path: reason".</summary>
    public override string ToString() => $"{Path}: {Reason}";
}

/// <summary>Options of <see cref="ImageFileScan.Scan"/>.</summary>
public sealed class ImageScanOptions
{
    /// <summary>
    /// Decode every image at full size. Default false: JPEGs decode at 1/8 of each side, which still reads and
    /// entropy-decodes the whole file (truncated and corrupt files fail the same way) at a fraction of the cost.
    /// </summary>
    public bool FullDecode { get; init; }

    /// <summary>Files checked in parallel (default: the processor count).</summary>
    public int MaxDegreeOfParallelism { get; init; } = Environment.ProcessorCount;
}

/// <summary>What <see cref="ImageFileScan.Scan"/> found.</summary>
public sealed class ImageScanReport
{
    internal ImageScanReport(int @checked, IReadOnlyList<ImageFileProblem> problems, TimeSpan elapsed)
    {
        Checked = @checked;
        Problems = problems;
        Elapsed = elapsed;
    }

    /// <summary>Images checked.</summary>
    public int Checked { get; }

    /// <summary>The unusable ones, in record order.</summary>
    public IReadOnlyList<ImageFileProblem> Problems { get; }

    /// <summary>Wall time of the scan.</summary>
    public TimeSpan Elapsed { get; }

    /// <summary>True when every image decodes.</summary>
    public bool IsClean => Problems.Count == 0;

    /// <summary>Files that exist but do not decode or cannot be read (what skipping corrupt images leaves out).</summary>
    public IReadOnlyList<ImageFileProblem> Corrupt => Problems.Where(p => p.Kind != ImageFileProblemKind.Missing).ToArray();

    /// <summary>Files that do not exist.</summary>
    public IReadOnlyList<ImageFileProblem> Missing => Problems.Where(p => p.Kind == ImageFileProblemKind.Missing).ToArray();

    /// <summary>Images per second of the scan.</summary>
    public double ImagesPerSecond => Elapsed.TotalSeconds > 0 ? Checked / Elapsed.TotalSeconds : 0;

    /// <summary>
    /// <paramref name="records"/> without the <see cref="Corrupt"/> ones, in their order: what a run that skips corrupt
    /// images trains and evaluates on. Missing files stay (they are never skipped silently).
    /// </summary>
    /// <param name="records">Records of the scanned layout.</param>
    public IReadOnlyList<ImageRecord> WithoutCorrupt(IReadOnlyList<ImageRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        var bad = Corrupt.Select(p => p.Record).ToHashSet(ReferenceEqualityComparer.Instance);
        return records.Where(r => !bad.Contains(r)).ToArray();
    }
}

/// <summary>
/// Checks every image file of a dataset once, before any work: each file must exist, be readable, have a known
/// format with a sane size, and decode (see <see cref="ImageScanOptions.FullDecode"/>). Corrupt files are reported
/// with the reason instead of stopping a training run hours later.
/// </summary>
public static class ImageFileScan
{
    /// <summary>Scans <paramref name="records"/> (all of <paramref name="layout"/> when null).</summary>
    /// <param name="layout">The dataset; its root resolves the paths.</param>
    /// <param name="records">The records to check, e.g. a split part; null for all.</param>
    /// <param name="options">Options; null for the defaults.</param>
    /// <param name="progress">Receives the number of files checked so far (every few hundred files and at the end).</param>
    /// <param name="cancellationToken">Stops the scan (<see cref="OperationCanceledException"/>).</param>
    public static ImageScanReport Scan(DatasetLayout layout, IReadOnlyList<ImageRecord>? records = null, ImageScanOptions? options = null,
        IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(layout);
        options ??= new ImageScanOptions();
        if (options.MaxDegreeOfParallelism < 1)
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxDegreeOfParallelism, "MaxDegreeOfParallelism must be at least 1.");
        var list = records ?? layout.Records;
        var clock = Stopwatch.StartNew();
        var problems = new ConcurrentBag<(int Index, ImageFileProblem Problem)>();
        int done = 0;
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = options.MaxDegreeOfParallelism, CancellationToken = cancellationToken };
        Parallel.For(0, list.Count, parallel, i =>
        {
            var path = layout.FullPath(list[i]);
            if (Check(path, options.FullDecode) is { } problem) problems.Add((i, new ImageFileProblem(list[i], path, problem.Kind, problem.Reason)));
            int n = Interlocked.Increment(ref done);
            if (n % 512 == 0) progress?.Report(n);
        });
        progress?.Report(list.Count);
        var ordered = problems.OrderBy(p => p.Index).Select(p => p.Problem).ToArray();
        return new ImageScanReport(list.Count, ordered, clock.Elapsed);
    }

    private static (ImageFileProblemKind Kind, string Reason)? Check(string path, bool fullDecode)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return (ImageFileProblemKind.Missing, "image file not found.");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (ImageFileProblemKind.Unreadable, "cannot read the image file: " + e.Message);
        }
        try
        {
            ImageDecoder.Verify(bytes, path, fullDecode);
            return null;
        }
        catch (ImageDataException e)
        {
            // The message is "path: reason"; the problem carries the path already.
            return (ImageFileProblemKind.Corrupt, e.Message.StartsWith(path + ": ", StringComparison.Ordinal) ? e.Message[(path.Length + 2)..] : e.Message);
        }
    }
}
