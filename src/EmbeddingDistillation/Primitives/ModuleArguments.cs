namespace EmbeddingDistillation.Primitives;

/// <summary>Reading TorchSharp modules' size arguments (kernel, stride, padding, dilation), stored as 0, 1 or 2 values.</summary>
internal static class ModuleArguments
{
    /// <summary>The (height, width) pair: both <paramref name="fallback"/> when unset, one value repeated, or the first two.</summary>
    public static long[] Pair(long[]? values, long fallback) => values switch
    {
        null or { Length: 0 } => [fallback, fallback],
        { Length: 1 } => [values[0], values[0]],
        _ => [values[0], values[1]],
    };
}
