namespace EmbeddingDistillation.Primitives;

/// <summary>
/// Writes files atomically: the content goes to a temporary file in the target's folder, is flushed to disk, and is
/// renamed over the target (an atomic replace on one file system). A crash or an exception mid-write leaves the old
/// file intact and no temporary file behind. Checkpoints, weights, ONNX models and indexes all write through here.
/// </summary>
internal static class AtomicFile
{
    /// <summary>Writes <paramref name="path"/> with <paramref name="write"/>, atomically.</summary>
    /// <param name="path">The target file; its folder is created if needed.</param>
    /// <param name="write">Writes the whole content to the given stream.</param>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(write);
        var full = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(folder);
        var temp = Path.Combine(folder, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
            {
                write(file);
                file.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }
}
