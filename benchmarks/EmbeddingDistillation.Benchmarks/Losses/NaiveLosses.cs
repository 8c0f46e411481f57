using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Benchmarks.Losses;

/// <summary>
/// Straightforward implementations as one writes them first: distances by broadcasting (x_i - x_j) into an
/// [N, N, D] tensor (cdist style), RKD angles as the authors do (difference tensor + bmm). They exist only as the
/// "naive" column of the benchmark; the library's losses use the Gram-matrix kernel instead.
/// </summary>
internal static class NaiveLosses
{
    private static Tensor Dist(Tensor x) =>
        (x.unsqueeze(1) - x.unsqueeze(0)).pow(2).sum(2).clamp_min(1e-12).sqrt();

    private static Tensor OffDiagonal(long n, Tensor like) => torch.eye(n, dtype: ScalarType.Bool, device: like.device).logical_not();

    public static Tensor Compute(string loss, Tensor s, Tensor t, Tensor y, Tensor proxies) => loss switch
    {
        "absolute" => (s - t + 1e-6).norm(1, false, 2).mean(),
        "relative" => (Dist(s) - Dist(t.detach())).norm(),
        "rkd-distance" => RkdDistance(s, t),
        "rkd-angle" => nn.functional.smooth_l1_loss(Angles(s), Angles(t.detach())),
        "relaxed-contrastive" => Relaxed(s, t),
        "triplet-hard" => TripletHard(s, y),
        "contrastive" => Contrastive(s, y),
        "multi-similarity" => MultiSimilarity(s, y),
        "proxy-anchor" => ProxyAnchor(s, y, proxies),
        _ => throw new ArgumentException(loss),
    };

    private static Tensor RkdDistance(Tensor s, Tensor t)
    {
        Tensor Norm(Tensor x)
        {
            var d = Dist(x) * OffDiagonal(x.shape[0], x);
            return d / d.sum() * (x.shape[0] * (x.shape[0] - 1));
        }
        return nn.functional.smooth_l1_loss(Norm(s), Norm(t.detach()));
    }

    private static Tensor Angles(Tensor x)
    {
        var diff = nn.functional.normalize(x.unsqueeze(0) - x.unsqueeze(1), p: 2, dim: 2);
        return diff.bmm(diff.transpose(1, 2));
    }

    private static Tensor Relaxed(Tensor s, Tensor t)
    {
        var n = s.shape[0];
        var off = OffDiagonal(n, s);
        var tn = nn.functional.normalize(t.detach(), p: 2, dim: 1);
        var w = (tn.unsqueeze(1) - tn.unsqueeze(0)).pow(2).sum(2).neg().exp();
        var d = Dist(s) * off;
        d = d / (d.sum(1, keepdim: true) / (n - 1));
        return ((w * d.pow(2) + (1 - w) * nn.functional.relu(1 - d).pow(2)) * off).sum() / (n * (n - 1));
    }

    private static Tensor TripletHard(Tensor x, Tensor y)
    {
        var d = Dist(x);
        var same = y.unsqueeze(1).eq(y.unsqueeze(0));
        var pos = same.logical_and(OffDiagonal(x.shape[0], x));
        var dap = d.masked_fill(pos.logical_not(), 0).amax(1);
        var dan = d.masked_fill(same, double.PositiveInfinity).amin(1);
        return nn.functional.relu(dap - dan + 0.2).mean();
    }

    private static Tensor Contrastive(Tensor x, Tensor y)
    {
        var n = x.shape[0];
        var d = Dist(x);
        var same = y.unsqueeze(1).eq(y.unsqueeze(0));
        var pos = same.logical_and(OffDiagonal(n, x));
        return ((d.pow(2) * pos) + nn.functional.relu(1 - d).pow(2) * same.logical_not()).sum() / (n * (n - 1));
    }

    private static Tensor MultiSimilarity(Tensor x, Tensor y)
    {
        // Cosine similarities by broadcasting: sum over D of x_i * x_j.
        var s = (x.unsqueeze(1) * x.unsqueeze(0)).sum(2);
        var same = y.unsqueeze(1).eq(y.unsqueeze(0));
        var pos = same.logical_and(OffDiagonal(x.shape[0], x));
        var neg = same.logical_not();
        var sd = s.detach();
        var minPos = sd.masked_fill(pos.logical_not(), double.PositiveInfinity).amin(new long[] { 1 }, keepdim: true);
        var maxNeg = sd.masked_fill(neg.logical_not(), double.NegativeInfinity).amax(new long[] { 1 }, keepdim: true);
        var kn = neg.logical_and((sd + 0.1).gt(minPos));
        var kp = pos.logical_and((sd - 0.1).lt(maxNeg));
        var p = (-2 * (s - 1)).exp().mul(kp).sum(1).log1p() / 2;
        var q = (50 * (s - 1)).exp().mul(kn).sum(1).log1p() / 50;
        return (p + q).sum() / x.shape[0];
    }

    private static Tensor ProxyAnchor(Tensor x, Tensor y, Tensor proxies)
    {
        var c = proxies.shape[0];
        var xn = nn.functional.normalize(x, p: 2, dim: 1);
        var pn = nn.functional.normalize(proxies, p: 2, dim: 1);
        var cos = (xn.unsqueeze(1) * pn.unsqueeze(0)).sum(2);
        var onehot = nn.functional.one_hot(y, c).to_type(x.dtype);
        var pos = ((-32 * (cos - 0.1)).exp() * onehot).sum(dim: 0);
        var neg = ((32 * (cos + 0.1)).exp() * (1 - onehot)).sum(dim: 0);
        return pos.log1p().sum() / onehot.sum(dim: 0).gt(0).sum() + neg.log1p().sum() / c;
    }
}
