namespace EmbeddingDistillation.Networks;

/// <summary>
/// Describes one intermediate feature map (a "tap") a <see cref="Backbone"/> can return next to its output.
/// </summary>
/// <param name="Name">The tap name, e.g. <c>layer3</c> or <c>stage4</c>.</param>
/// <param name="Channels">The channel count C of the map [N, C, h, w].</param>
/// <param name="Stride">
/// The total stride relative to the input image: for an input whose sides are multiples of the stride,
/// h = H / Stride and w = W / Stride.
/// </param>
public sealed record TapInfo(string Name, int Channels, int Stride);
