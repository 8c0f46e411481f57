using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Training;

/// <summary>Resolves device names, so code stays device-agnostic and uses CUDA when it is there.</summary>
public static class Devices
{
    /// <summary>
    /// Resolves <c>auto</c> (cuda when available, else cpu), <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>. Asking for
    /// cuda where it is not available throws, naming the option.
    /// </summary>
    /// <param name="requested">The requested device name; null or empty means <c>auto</c>.</param>
    public static Device Resolve(string? requested)
    {
        var name = string.IsNullOrWhiteSpace(requested) ? "auto" : requested.Trim().ToLowerInvariant();
        if (name == "auto") return cuda.is_available() ? CUDA : CPU;
        if (name.StartsWith("cuda", StringComparison.Ordinal) && !cuda.is_available())
            throw new ArgumentException($"Device '{requested}' was requested but CUDA is not available (reference a CUDA backend package, or use 'auto' or 'cpu').", nameof(requested));
        try { return new Device(name); }
        catch (Exception e) { throw new ArgumentException($"Unknown device '{requested}': use auto, cpu, cuda or cuda:N.", nameof(requested), e); }
    }

    /// <summary>The device of a module's first parameter (cpu for a module without parameters).</summary>
    /// <param name="module">The module.</param>
    public static Device Of(nn.Module module)
    {
        foreach (var p in module.parameters()) return p.device;
        return CPU;
    }

    /// <summary>The dtype of a module's first floating parameter (float32 for a module without parameters).</summary>
    /// <param name="module">The module.</param>
    public static ScalarType ParameterType(nn.Module module)
    {
        foreach (var p in module.parameters()) return p.dtype;
        return ScalarType.Float32;
    }
}
