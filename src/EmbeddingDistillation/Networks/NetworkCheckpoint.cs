using EmbeddingDistillation.Primitives;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Networks;

/// <summary>
/// Saves and loads whole networks (all parameters and buffers) in TorchSharp's own format, wrapped in a checked
/// container: an 8-byte header, the TorchSharp state dict, and a SHA-256 checksum. Use <see cref="PretrainedWeights"/>
/// for PyTorch files.
/// </summary>
/// <remarks>
/// A weights file that was truncated or damaged after it was written (a copy cut short, flipped bytes) is rejected with
/// an <see cref="InvalidDataException"/> naming the file, instead of loading garbage weights silently.
/// </remarks>
public static class NetworkCheckpoint
{
    // "EDWTS" CR LF ^Z, as the index format: catches text-mode and transfer mangling.
    private static ReadOnlySpan<byte> Magic => "EDWTS\r\n\u001a"u8;

    /// <summary>
    /// Saves the module's state dict to <paramref name="path"/> atomically: writes a temporary file in the same
    /// folder and renames it over the target, so a crash never leaves a half-written checkpoint.
    /// </summary>
    /// <param name="network">The network.</param>
    /// <param name="path">The target file; its folder is created if needed.</param>
    public static void Save(IEmbeddingNetwork network, string path)
    {
        ArgumentNullException.ThrowIfNull(network);
        SaveModule(network.Module, path);
    }

    /// <summary>Saves any module's state dict (the trainer's loss modules) in the same checked container.</summary>
    internal static void SaveModule(nn.Module module, string path)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(path);
        ChecksummedFile.Write(path, Magic, stream =>
        {
            // module.save(Stream) would close the stream; a writer that leaves it open lets the checksum follow.
            using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
            module.save(writer);
        });
    }

    /// <summary>Loads weights saved by <see cref="Save(IEmbeddingNetwork, string)"/> into a network of the same architecture (strict).</summary>
    /// <param name="network">The network to fill.</param>
    /// <param name="path">The checkpoint file.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a weights file, is damaged, or does not match the network.</exception>
    public static void Load(IEmbeddingNetwork network, string path)
    {
        ArgumentNullException.ThrowIfNull(network);
        LoadModule(network.Module, path);
    }

    /// <summary>Loads into any module (the trainer's loss modules).</summary>
    internal static void LoadModule(nn.Module module, string path)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"Checkpoint '{path}' does not exist.", path);
        var payload = ChecksummedFile.ReadVerified(path, Magic, "EmbeddingDistillation weights file (NetworkCheckpoint.Save)");
        try
        {
            var bytes = System.Runtime.InteropServices.MemoryMarshal.TryGetArray(payload, out var segment) ? segment : new ArraySegment<byte>(payload.ToArray());
            using var reader = new BinaryReader(new MemoryStream(bytes.Array!, bytes.Offset, bytes.Count, writable: false));
            module.load(reader, strict: true);
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or EndOfStreamException or IOException)
        {
            throw new InvalidDataException($"Checkpoint '{path}' does not match module '{module.GetName()}': {ex.Message}", ex);
        }
    }
}
