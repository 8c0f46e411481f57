using EmbeddingDistillation.Primitives;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Networks;

/// <summary>
/// Saves and loads whole networks (all parameters and buffers) in TorchSharp's own format, for checkpoints.
/// Use <see cref="PretrainedWeights"/> for PyTorch files.
/// </summary>
public static class NetworkCheckpoint
{
    /// <summary>
    /// Saves the module's state dict to <paramref name="path"/> atomically: writes a temporary file in the same
    /// folder and renames it over the target, so a crash never leaves a half-written checkpoint.
    /// </summary>
    /// <param name="module">The module (e.g. an <see cref="EmbeddingNetwork"/>).</param>
    /// <param name="path">The target file; its folder is created if needed.</param>
    public static void Save(nn.Module module, string path)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(path);
        // module.save(Stream) closes the stream; a writer that leaves it open lets AtomicFile flush it to disk.
        AtomicFile.Write(path, stream =>
        {
            using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
            module.save(writer);
        });
    }

    /// <summary>Loads a state dict saved by <see cref="Save"/> into a module of the same architecture (strict).</summary>
    /// <param name="module">The module to fill.</param>
    /// <param name="path">The checkpoint file.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file does not match the module.</exception>
    public static void Load(nn.Module module, string path)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"Checkpoint '{path}' does not exist.", path);
        try
        {
            module.load(path, strict: true);
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or EndOfStreamException or IOException)
        {
            throw new InvalidDataException($"Checkpoint '{path}' does not match module '{module.GetName()}': {ex.Message}", ex);
        }
    }
}
