using EmbeddingDistillation.Networks;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Losses;

/// <summary>
/// Attention transfer (Zagoruyko &amp; Komodakis, ICLR 2017): at(x) = normalise(mean over channels of x^2, flattened per
/// sample); loss = mean((at(s) - at(t))^2). Channel counts may differ; a student map of another spatial size is
/// resized bilinearly to the teacher's.
/// </summary>
public sealed class AttentionTransferLoss : FeatureMapDistillationLoss
{
    /// <summary>
    /// Creates the loss; <paramref name="pairs"/> are the taps <see cref="FeatureMapDistillationLoss.Compute"/> reads
    /// (the sum of the pairs' terms, each times its weight).
    /// </summary>
    /// <param name="pairs">Tap pairs; none is fine when only <c>forward</c> is called.</param>
    public AttentionTransferLoss(params TapPair[] pairs) : base(nameof(AttentionTransferLoss), pairs)
    {
    }

    /// <inheritdoc />
    public override string Name => "attention";

    /// <summary>The attention map at(x) [N, H*W] of a feature map [N, C, H, W].</summary>
    /// <param name="map">The feature map.</param>
    internal static Tensor AttentionMap(Tensor map)
    {
        using var scope = NewDisposeScope();
        var at = nn.functional.normalize(map.pow(2).mean(new long[] { 1 }).view(map.shape[0], -1), p: 2, dim: 1);
        return at.MoveToOuterDisposeScope();
    }

    /// <summary>The loss for one pair of maps.</summary>
    /// <param name="studentMap">Student map [N, Cs, Hs, Ws].</param>
    /// <param name="teacherMap">Teacher map [N, Ct, Ht, Wt] (no gradient flows into it).</param>
    public override Tensor forward(Tensor studentMap, Tensor teacherMap)
    {
        LossInputs.MapPair(studentMap, teacherMap, nameof(AttentionTransferLoss));
        using var scope = NewDisposeScope();
        var s = FeatureMaps.MatchSpatial(studentMap, teacherMap);
        var loss = (AttentionMap(s) - AttentionMap(teacherMap.detach())).pow(2).mean();
        return loss.MoveToOuterDisposeScope();
    }
}
