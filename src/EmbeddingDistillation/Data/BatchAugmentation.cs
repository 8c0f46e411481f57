using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EmbeddingDistillation.Data;

/// <summary>
/// Training augmentation of a float batch [B, 3, H, W] in [0, 1] with whole-batch tensor ops. The random
/// parameters (a few numbers per sample) are drawn in C# from a stream derived from (seed, position, index), so a
/// batch is reproducible for the same (indices, seed) and duplicated indices in a batch get different views.
/// </summary>
internal static class BatchAugmentation
{
    public static Tensor Apply(Tensor x, IReadOnlyList<int> indices, int seed, ImageAugmentationOptions o)
    {
        var b = (int)x.shape[0];
        var h = (int)x.shape[2];
        var w = (int)x.shape[3];
        var rngs = new SplitMix64[b];
        for (var i = 0; i < b; i++) rngs[i] = SplitMix64.Derive(seed, i, indices[i]);

        var flips = new bool[b];
        for (var i = 0; i < b; i++) flips[i] = o.HorizontalFlip && rngs[i].Chance(0.5);

        x = o.Crop switch
        {
            AugmentationCrop.PadAndCrop => PadCropFlip(x, rngs, flips, o.Padding ?? Math.Max(1, h / 8)),
            AugmentationCrop.RandomResizedCrop => ResizedCropFlip(x, rngs, flips, o),
            _ => o.HorizontalFlip ? FlipOnly(x, flips) : x,
        };
        return ColourJitter(x, rngs, o);
    }

    // Reflect-pad, then one gather per axis picks each sample's window; a flip is just a reversed column index.
    private static Tensor PadCropFlip(Tensor x, SplitMix64[] rngs, bool[] flips, int pad)
    {
        var (b, c, h, w) = ((int)x.shape[0], (int)x.shape[1], (int)x.shape[2], (int)x.shape[3]);
        pad = Math.Min(pad, Math.Min(h, w) - 1); // reflect padding needs pad < size
        var padded = pad > 0 ? F.pad(x, [pad, pad, pad, pad], PaddingModes.Reflect) : x;
        var rows = new long[b * h];
        var cols = new long[b * w];
        for (var i = 0; i < b; i++)
        {
            var oy = rngs[i].NextInt(2 * pad + 1);
            var ox = rngs[i].NextInt(2 * pad + 1);
            for (var r = 0; r < h; r++) rows[i * h + r] = oy + r;
            for (var q = 0; q < w; q++) cols[i * w + q] = flips[i] ? ox + w - 1 - q : ox + q;
        }
        var rowIndex = torch.tensor(rows, [b, 1, h, 1], device: x.device).expand(b, c, h, w + 2 * pad);
        var colIndex = torch.tensor(cols, [b, 1, 1, w], device: x.device).expand(b, c, h, w);
        return padded.gather(2, rowIndex).gather(3, colIndex);
    }

    // One affine sampling grid per sample: scale = crop size, translation = crop centre, negative x scale = flip.
    private static Tensor ResizedCropFlip(Tensor x, SplitMix64[] rngs, bool[] flips, ImageAugmentationOptions o)
    {
        var b = (int)x.shape[0];
        var theta = new float[b * 6];
        var logAspect = Math.Log(o.MaxAspectRatio);
        for (var i = 0; i < b; i++)
        {
            var area = rngs[i].Uniform(o.MinCropArea, o.MaxCropArea);
            var aspect = Math.Exp(rngs[i].Uniform(-logAspect, logAspect));
            var sw = Math.Min(1.0, Math.Sqrt(area * aspect));
            var sh = Math.Min(1.0, Math.Sqrt(area / aspect));
            var cx = rngs[i].Uniform(-(1 - sw), 1 - sw);
            var cy = rngs[i].Uniform(-(1 - sh), 1 - sh);
            theta[i * 6 + 0] = (float)(flips[i] ? -sw : sw);
            theta[i * 6 + 2] = (float)cx;
            theta[i * 6 + 4] = (float)sh;
            theta[i * 6 + 5] = (float)cy;
        }
        var t = torch.tensor(theta, [b, 2, 3], dtype: x.dtype, device: x.device);
        var grid = F.affine_grid(t, x.shape, align_corners: false);
        return F.grid_sample(x, grid, GridSampleMode.Bilinear, GridSamplePaddingMode.Border, align_corners: false);
    }

    private static Tensor FlipOnly(Tensor x, bool[] flips)
    {
        var mask = torch.tensor(flips, [flips.Length, 1, 1, 1], device: x.device);
        return torch.where(mask, x.flip(3), x);
    }

    // Brightness (scale), contrast (around the image's mean grey), saturation (around each pixel's grey), clamped to [0, 1].
    private static Tensor ColourJitter(Tensor x, SplitMix64[] rngs, ImageAugmentationOptions o)
    {
        if (o.Brightness == 0 && o.Contrast == 0 && o.Saturation == 0) return x;
        var b = rngs.Length;
        var bf = new float[b];
        var cf = new float[b];
        var sf = new float[b];
        for (var i = 0; i < b; i++)
        {
            bf[i] = (float)rngs[i].Uniform(1 - o.Brightness, 1 + o.Brightness);
            cf[i] = (float)rngs[i].Uniform(1 - o.Contrast, 1 + o.Contrast);
            sf[i] = (float)rngs[i].Uniform(1 - o.Saturation, 1 + o.Saturation);
        }
        var greyWeights = torch.tensor(new[] { 0.299f, 0.587f, 0.114f }, [1, 3, 1, 1], dtype: x.dtype, device: x.device);
        if (o.Brightness > 0) x = x.mul(torch.tensor(bf, [b, 1, 1, 1], dtype: x.dtype, device: x.device));
        if (o.Contrast > 0)
        {
            var meanGrey = x.mul(greyWeights).sum(1, keepdim: true).mean([2, 3], keepdim: true);
            x = x.sub(meanGrey).mul_(torch.tensor(cf, [b, 1, 1, 1], dtype: x.dtype, device: x.device)).add_(meanGrey);
        }
        if (o.Saturation > 0)
        {
            var grey = x.mul(greyWeights).sum(1, keepdim: true);
            x = x.sub(grey).mul_(torch.tensor(sf, [b, 1, 1, 1], dtype: x.dtype, device: x.device)).add_(grey);
        }
        return x.clamp_(0, 1);
    }
}
