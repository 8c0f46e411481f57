using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Networks;

/// <summary>Chooses the device to run on.</summary>
public static class Devices
{
    /// <summary>
    /// Picks a device: null, empty or <c>auto</c> gives CUDA when available, else CPU; <c>cpu</c> gives CPU;
    /// <c>cuda</c> or <c>cuda:N</c> gives that GPU and throws if CUDA is not available (an explicit request is
    /// never silently downgraded).
    /// </summary>
    /// <param name="requested">The requested device, e.g. <c>auto</c>, <c>cpu</c>, <c>cuda</c>, <c>cuda:1</c>.</param>
    /// <exception cref="ArgumentException">The string is not a device name.</exception>
    /// <exception cref="InvalidOperationException">CUDA was requested but is not available.</exception>
    public static Device Pick(string? requested = null)
    {
        var r = requested?.Trim().ToLowerInvariant();
        if (string.IsNullOrEmpty(r) || r == "auto") return cuda.is_available() ? CUDA : CPU;
        if (r == "cpu") return CPU;
        if (r == "cuda" || r.StartsWith("cuda:", StringComparison.Ordinal))
        {
            if (r.Length > 5 && !int.TryParse(r[5..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out _))
                throw new ArgumentException($"Device '{requested}' is not valid; use auto, cpu, cuda or cuda:N.", nameof(requested));
            if (!cuda.is_available())
                throw new InvalidOperationException($"Device '{requested}' was requested but CUDA is not available (is a CUDA TorchSharp backend referenced?). Use 'cpu' or 'auto'.");
            return new Device(r);
        }
        throw new ArgumentException($"Device '{requested}' is not valid; use auto, cpu, cuda or cuda:N.", nameof(requested));
    }

    /// <summary>The device of a module's first parameter (cpu for a module without parameters).</summary>
    /// <param name="module">The module.</param>
    public static Device Of(nn.Module module)
    {
        foreach (var p in module.parameters()) return p.device;
        return CPU;
    }

    /// <summary>The dtype of a module's first parameter (float32 for a module without parameters).</summary>
    /// <param name="module">The module.</param>
    internal static ScalarType ParameterType(nn.Module module)
    {
        foreach (var p in module.parameters()) return p.dtype;
        return ScalarType.Float32;
    }
}
