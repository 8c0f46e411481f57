using EmbeddingDistillation.Samples.CommandLine;

namespace EmbeddingDistillation.Samples.Runs;

/// <summary>What a sample writes into its report folder: the only things <c>--overwrite</c> deletes.</summary>
/// <param name="Files">Files, relative to the report folder (e.g. <c>results.csv</c>).</param>
/// <param name="RunFolders">Folders of <see cref="RunFolder"/>s (e.g. <c>checkpoints</c>): only the files a run folder writes are deleted.</param>
public sealed record SampleOutputs(IReadOnlyList<string> Files, IReadOnlyList<string> RunFolders);

/// <summary>
/// Prepares a report folder so that nothing is lost or mixed: a new run needs a missing or empty folder,
/// <c>--resume</c> continues a folder made with the same result-affecting settings, and <c>--overwrite</c>
/// deletes only the files the sample itself wrote.
/// </summary>
public static class ReportFolder
{
    /// <summary>Prepares <paramref name="folder"/> and returns lines to print (warnings, what was deleted).</summary>
    /// <param name="folder">The report folder (<c>--report</c>).</param>
    /// <param name="settings">The settings of this command.</param>
    /// <param name="resume"><c>--resume</c>: continue the run in the folder.</param>
    /// <param name="overwrite"><c>--overwrite</c>: delete the sample's outputs first.</param>
    /// <param name="outputs">What the sample writes there.</param>
    /// <exception cref="UsageException">The folder holds a run and neither option allows touching it, or resuming it would mix settings.</exception>
    public static IReadOnlyList<string> Prepare(string folder, RunSettings settings, bool resume, bool overwrite, SampleOutputs outputs)
    {
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(outputs);
        if (resume && overwrite) throw new UsageException("--resume and --overwrite contradict each other: give one of them.");
        if (File.Exists(folder)) throw new UsageException($"--report: '{folder}' is a file, not a folder.");

        var notes = new List<string>();
        bool holdsSomething = Directory.Exists(folder) && Directory.EnumerateFileSystemEntries(folder).Any();
        if (holdsSomething && resume)
        {
            var before = RunSettings.Read(folder)
                ?? throw new UsageException($"--resume: '{folder}' is not empty but has no {RunSettings.FileName}, so it is not a report this sample can resume; give another --report.");
            notes.AddRange(before.CheckResume(settings, folder));
            notes.Add($"Resuming '{folder}': finished runs are reloaded, an interrupted run continues from its last checkpoint.");
            return notes;
        }
        if (holdsSomething && overwrite) notes.AddRange(DeleteOutputs(folder, outputs));
        else if (holdsSomething)
            throw new UsageException(
                $"--report: '{folder}' already holds files and is never overwritten silently. Pass --resume to continue the run " +
                "it holds, --overwrite to delete what the sample wrote there and start again, or another --report folder.");
        else if (resume) notes.Add($"--resume: '{folder}' holds no run yet; starting a new one.");

        Directory.CreateDirectory(folder);
        settings.Write(folder);
        return notes;
    }

    private static IEnumerable<string> DeleteOutputs(string folder, SampleOutputs outputs)
    {
        int deleted = 0;
        foreach (var file in outputs.Files.Append(RunSettings.FileName))
        {
            var path = Path.Combine(folder, file);
            if (File.Exists(path)) { File.Delete(path); deleted++; }
        }
        foreach (var runs in outputs.RunFolders)
        {
            var root = Path.Combine(folder, runs);
            if (!Directory.Exists(root)) continue;
            foreach (var file in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).ToArray())
            {
                var name = Path.GetFileName(file);
                if (!RunFolder.Writes(name) && !AtomicText.IsTemporary(name)) continue;
                File.Delete(file);
                deleted++;
            }
            RemoveEmptyFolders(root);
        }
        yield return $"--overwrite: deleted {deleted} file(s) the sample had written in '{folder}'.";
        var kept = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(folder, f)).ToArray();
        if (kept.Length > 0)
            yield return $"--overwrite: kept {kept.Length} file(s) the sample did not write: {string.Join(", ", kept.Take(5))}{(kept.Length > 5 ? ", ..." : "")}.";
    }

    private static void RemoveEmptyFolders(string root)
    {
        foreach (var sub in Directory.EnumerateDirectories(root)) RemoveEmptyFolders(sub);
        if (!Directory.EnumerateFileSystemEntries(root).Any()) Directory.Delete(root);
    }
}
