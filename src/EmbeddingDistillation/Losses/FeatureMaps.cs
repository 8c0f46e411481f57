using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Losses;

/// <summary>Helpers shared by the map-based terms (hint, attention).</summary>
internal static class FeatureMaps
{
    /// <summary>Resizes <paramref name="map"/> [N, C, H, W] bilinearly (align_corners false) to <paramref name="like"/>'s H x W, if they differ.</summary>
    internal static Tensor MatchSpatial(Tensor map, Tensor like)
    {
        if (map.shape[2] == like.shape[2] && map.shape[3] == like.shape[3]) return map.alias();
        return nn.functional.interpolate(map, size: new[] { like.shape[2], like.shape[3] }, mode: InterpolationMode.Bilinear, align_corners: false);
    }
}
