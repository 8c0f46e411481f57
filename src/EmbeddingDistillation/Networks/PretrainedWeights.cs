using System.Collections;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Networks;

/// <summary>
/// Loads PyTorch weights (a state dict saved by <c>torch.save</c> as <c>.pth</c>/<c>.pt</c>, or a
/// <c>.safetensors</c> file) into a backbone, e.g. torchvision's ImageNet checkpoints
/// (<c>resnet101-63fe2227.pth</c>, <c>resnet18-f37072fd.pth</c>, <c>mobilenet_v2-b0353104.pth</c> from
/// download.pytorch.org/models/).
/// </summary>
/// <remarks>
/// Values are copied into the existing parameters and buffers (any device, converted to their dtype) without
/// gradient tracking. A mismatch throws an <see cref="InvalidDataException"/> naming the file and listing the
/// missing, unexpected and mis-shaped keys (with both shapes).
/// </remarks>
public static class PretrainedWeights
{
    private const int MaxListed = 20;

    /// <summary>Loads backbone weights into a network's backbone (keys as torchvision's, without <c>backbone.</c>).</summary>
    /// <param name="network">The network.</param>
    /// <param name="path">The .pth/.pt or .safetensors file.</param>
    /// <param name="options">Options; null for strict loading that ignores classifier keys.</param>
    /// <exception cref="NotSupportedException">The network is not the library's <see cref="EmbeddingNetwork"/> (no backbone to load into).</exception>
    public static WeightsLoadResult LoadBackbone(IEmbeddingNetwork network, string path, WeightsLoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        var backbone = (network.Module as EmbeddingNetwork)?.Backbone
            ?? throw new NotSupportedException($"'{network.Name}' is a {network.Module.GetType().Name}, not an EmbeddingNetwork: load its weights with PretrainedWeights.Load into the module that matches the file's keys.");
        return Load(backbone, path, options);
    }

    /// <summary>Loads weights into any module whose state-dict keys match the file's.</summary>
    /// <param name="module">The module (e.g. a <see cref="Backbone"/>).</param>
    /// <param name="path">The .pth/.pt or .safetensors file.</param>
    /// <param name="options">Options; null for strict loading that ignores classifier keys.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file cannot be read as a state dict, or (strict) its keys or shapes do not match.</exception>
    public static WeightsLoadResult Load(nn.Module module, string path, WeightsLoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(path);
        options ??= new WeightsLoadOptions();
        if (!File.Exists(path)) throw new FileNotFoundException($"Weights file '{path}' does not exist.", path);

        using var scope = NewDisposeScope();
        var source = ReadStateDict(path);
        var target = module.state_dict();

        var ignored = new List<string>();
        var unexpected = new List<string>();
        var mismatched = new List<string>();
        var toLoad = new List<string>();
        foreach (var key in source.Keys.OrderBy(k => k, StringComparer.Ordinal))
        {
            if (options.IgnoredPrefixes.Any(p => key.StartsWith(p, StringComparison.Ordinal))) { ignored.Add(key); continue; }
            if (!target.TryGetValue(key, out var t)) { unexpected.Add(key); continue; }
            if (!t.shape.SequenceEqual(source[key].shape))
            {
                mismatched.Add($"{key}: file [{string.Join(", ", source[key].shape)}] vs module [{string.Join(", ", t.shape)}]");
                continue;
            }
            toLoad.Add(key);
        }
        var missing = target.Keys.Where(k => !source.ContainsKey(k)).ToList();
        // Old torchvision checkpoints predate BatchNorm's num_batches_tracked buffer; PyTorch tolerates that too.
        var missingStrict = missing.Where(k => !k.EndsWith(".num_batches_tracked", StringComparison.Ordinal)).ToList();

        if (options.Strict && (missingStrict.Count > 0 || unexpected.Count > 0 || mismatched.Count > 0))
            throw new InvalidDataException(Describe(path, module, missingStrict, unexpected, mismatched));

        using (no_grad())
        {
            foreach (var key in toLoad) target[key].copy_(source[key]);
        }
        return new WeightsLoadResult(path, toLoad, ignored, missing, unexpected, mismatched);
    }

    /// <summary>
    /// Reads a state dict from a .pth/.pt (PyTorch zip format) or .safetensors file into CPU tensors owned by
    /// the current dispose scope.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <exception cref="InvalidDataException">The file is not a readable state dict.</exception>
    internal static Dictionary<string, Tensor> ReadStateDict(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"Weights file '{path}' does not exist.", path);
        try
        {
            if (path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
                return Safetensors.LoadStateDict(path);
            using var stream = File.OpenRead(path);
            Hashtable table = PyTorchUnpickler.UnpickleStateDict(stream);
            var dict = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            foreach (DictionaryEntry e in table)
            {
                if (e.Key is string key && e.Value is Tensor t) dict[key] = t;
                else throw new InvalidDataException($"Entry '{e.Key}' is not a tensor ({e.Value?.GetType().Name ?? "null"}); the file must hold a plain state dict (e.g. model.state_dict()), not a full checkpoint.");
            }
            return dict;
        }
        catch (Exception ex) when (ex is not InvalidDataException)
        {
            throw new InvalidDataException($"Cannot read weights file '{path}' as a PyTorch state dict (.pth/.pt zip format from torch.save, or .safetensors): {ex.Message}", ex);
        }
        catch (InvalidDataException ex)
        {
            throw new InvalidDataException($"Cannot read weights file '{path}': {ex.Message}", ex);
        }
    }

    private static string Describe(string path, nn.Module module, List<string> missing, List<string> unexpected, List<string> mismatched)
    {
        static string List(string title, List<string> keys) =>
            keys.Count == 0 ? "" : $"\n  {title} ({keys.Count}): {string.Join(", ", keys.Take(MaxListed))}{(keys.Count > MaxListed ? ", ..." : "")}";
        return $"Weights file '{path}' does not match module '{module.GetName()}':"
            + List("missing keys", missing)
            + List("unexpected keys", unexpected)
            + List("mis-shaped keys", mismatched)
            + "\nCheck the architecture/width/stem options, or pass WeightsLoadOptions { Strict = false } to load what matches.";
    }
}
