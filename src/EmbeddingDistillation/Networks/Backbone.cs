using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Networks;

/// <summary>
/// A convolutional backbone: maps images [N, 3, H, W] to its last feature map [N, C, h, w] and can hand out
/// named intermediate maps (taps) for hint and attention distillation.
/// </summary>
/// <remarks>
/// Subclasses implement <see cref="ForwardCore"/> and report every stage output through its callback; the base
/// class keeps only the requested ones. Children must be invoked with <c>call</c> (not <c>forward</c>) so that
/// forward hooks (used by <see cref="ModelComplexity"/>) see them.
/// </remarks>
internal abstract class Backbone : nn.Module<Tensor, Tensor>
{
    /// <summary>Creates the backbone module.</summary>
    /// <param name="name">The TorchSharp module name.</param>
    protected Backbone(string name) : base(name) { }

    /// <summary>The channel count C of the output map.</summary>
    public abstract int OutputChannels { get; }

    /// <summary>The intermediate maps this backbone can tap, shallow to deep.</summary>
    public abstract IReadOnlyList<TapInfo> Taps { get; }

    /// <summary>The names of <see cref="Taps"/>, shallow to deep.</summary>
    public IReadOnlyList<string> TapNames => Taps.Select(t => t.Name).ToArray();

    /// <summary>Maps images [N, 3, H, W] to the last feature map [N, C, h, w].</summary>
    /// <param name="input">The images.</param>
    public override Tensor forward(Tensor input) => ForwardCore(input, null);

    /// <summary>
    /// Maps images to the last feature map and stores the requested taps in <paramref name="features"/>.
    /// </summary>
    /// <param name="input">The images [N, 3, H, W].</param>
    /// <param name="taps">The tap names wanted; null or empty for none.</param>
    /// <param name="features">Receives the tapped maps by name (the same tensors the forward pass used).</param>
    /// <exception cref="ArgumentException">A requested tap name is not one of <see cref="TapNames"/>.</exception>
    public Tensor forward(Tensor input, IReadOnlyCollection<string>? taps, IDictionary<string, Tensor> features)
    {
        ArgumentNullException.ThrowIfNull(features);
        if (taps is null || taps.Count == 0) return ForwardCore(input, null);
        ValidateTapNames(taps);
        var wanted = new HashSet<string>(taps, StringComparer.Ordinal);
        return ForwardCore(input, (name, map) =>
        {
            if (wanted.Contains(name)) features[name] = map;
        });
    }

    /// <summary>Throws an <see cref="ArgumentException"/> listing the valid taps if a name is unknown.</summary>
    /// <param name="taps">The tap names to check.</param>
    public void ValidateTapNames(IEnumerable<string> taps)
    {
        ArgumentNullException.ThrowIfNull(taps);
        var valid = TapNames;
        var unknown = taps.Where(t => !valid.Contains(t, StringComparer.Ordinal)).ToArray();
        if (unknown.Length > 0)
            throw new ArgumentException(
                $"Unknown tap name(s) {string.Join(", ", unknown.Select(u => $"'{u}'"))} for backbone '{GetName()}'; valid taps: {string.Join(", ", valid)}.",
                nameof(taps));
    }

    /// <summary>
    /// Runs the backbone. Implementations pass every stage output named in <see cref="Taps"/> to
    /// <paramref name="tap"/> (when not null) and must not modify those tensors in place afterwards.
    /// </summary>
    /// <param name="input">The images [N, 3, H, W].</param>
    /// <param name="tap">Receives (tap name, map) for each stage; null when no taps are wanted.</param>
    /// <returns>The last feature map [N, <see cref="OutputChannels"/>, h, w].</returns>
    protected abstract Tensor ForwardCore(Tensor input, Action<string, Tensor>? tap);
}
