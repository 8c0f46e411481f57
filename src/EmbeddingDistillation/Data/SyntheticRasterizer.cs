namespace EmbeddingDistillation.Data;

/// <summary>
/// Draws one synthetic image with signed distance functions (SDFs): every primitive is a function that is negative
/// inside, and its pixel coverage is clamp(0.5 - distance in pixels, 0, 1), which anti-aliases edges without
/// supersampling. Plain float arrays, one image per call, so the generator can run images in parallel.
/// </summary>
internal static class SyntheticRasterizer
{
    // Pattern geometry in object units (the object radius is 1).
    private const float OutlineWidth = 0.18f;
    private const float StripePeriod = 0.5f;
    private const float StripeDuty = 0.45f;
    private const float DotSpacing = 0.6f;
    private const float DotRadius = 0.17f;
    private const float CheckerCell = 0.55f;

    /// <summary>Renders one image of <paramref name="cls"/> into <paramref name="output"/> (3 x S x S bytes, planar RGB).</summary>
    public static void Render(SyntheticClass cls, SyntheticDatasetOptions o, ref SplitMix64 rng, Span<byte> output)
    {
        var s = o.ImageSize;
        var img = new float[3 * s * s];
        var unit = s / 32f; // pixel sizes below are given at 32 px and scale with the image

        DrawBackground(img, s, ref rng);
        var clutter = rng.NextInt(o.MaxClutter + 1);
        for (var i = 0; i < clutter; i++) DrawDistractor(img, s, unit, ref rng);
        DrawObject(img, s, cls, o, ref rng, out var cx, out var cy, out var radius);
        if (rng.Chance(o.OcclusionProbability)) DrawOccluder(img, s, cx, cy, radius, ref rng);
        JitterColours(img, s, o, ref rng);
        Quantise(img, o.NoiseStd, ref rng, output);
    }

    // A low-saturation base colour with a linear gradient in a random direction.
    private static void DrawBackground(float[] img, int s, ref SplitMix64 rng)
    {
        var grey = (float)rng.Uniform(0.2, 0.7);
        Span<float> baseColour = stackalloc float[3];
        for (var c = 0; c < 3; c++) baseColour[c] = grey + (float)rng.Uniform(-0.12, 0.12);
        var angle = rng.Uniform(0, 2 * Math.PI);
        var amplitude = (float)rng.Uniform(0, 0.25);
        var gx = (float)Math.Cos(angle) * amplitude / s;
        var gy = (float)Math.Sin(angle) * amplitude / s;
        var plane = s * s;
        for (var y = 0; y < s; y++)
            for (var x = 0; x < s; x++)
            {
                var g = gx * (x - s / 2f) + gy * (y - s / 2f);
                for (var c = 0; c < 3; c++) img[c * plane + y * s + x] = baseColour[c] + g;
            }
    }

    // A blob (disc) or a line segment, in a palette colour half of the time so that colour is not a clean class cue.
    private static void DrawDistractor(float[] img, int s, float unit, ref SplitMix64 rng)
    {
        var colour = RandomColour(ref rng, paletteProbability: 0.5);
        if (rng.Chance(0.5))
        {
            var bx = (float)rng.Uniform(0, s);
            var by = (float)rng.Uniform(0, s);
            var r = (float)rng.Uniform(1.5, 3.5) * unit;
            Fill(img, s, colour, bx - r - 1, by - r - 1, bx + r + 1, by + r + 1,
                (x, y) => MathF.Sqrt((x - bx) * (x - bx) + (y - by) * (y - by)) - r);
        }
        else
        {
            var ax = (float)rng.Uniform(0, s);
            var ay = (float)rng.Uniform(0, s);
            var len = (float)rng.Uniform(6, 16) * unit;
            var dir = rng.Uniform(0, Math.PI);
            var ex = ax + len * (float)Math.Cos(dir);
            var ey = ay + len * (float)Math.Sin(dir);
            var half = (float)rng.Uniform(0.5, 1.1) * unit;
            Fill(img, s, colour, Math.Min(ax, ex) - half - 1, Math.Min(ay, ey) - half - 1, Math.Max(ax, ex) + half + 1, Math.Max(ay, ey) + half + 1,
                (x, y) => SegmentDistance(x, y, ax, ay, ex, ey) - half);
        }
    }

    private static void DrawObject(float[] img, int s, SyntheticClass cls, SyntheticDatasetOptions o, ref SplitMix64 rng,
        out float cx, out float cy, out float radius)
    {
        radius = (float)(rng.Uniform(o.MinScale, o.MaxScale) * s);
        cx = s / 2f + (float)(rng.Uniform(-o.MaxOffset, o.MaxOffset) * s);
        cy = s / 2f + (float)(rng.Uniform(-o.MaxOffset, o.MaxOffset) * s);
        var angle = rng.Uniform(-o.MaxRotationDegrees, o.MaxRotationDegrees) * Math.PI / 180;
        var cos = (float)Math.Cos(angle);
        var sin = (float)Math.Sin(angle);
        var primary = cls.Colours.Primary;
        var secondary = cls.Colours.Secondary;
        var plane = s * s;
        var extent = radius * 1.5f + 1;
        var (x0, x1, y0, y1) = Bounds(s, cx - extent, cy - extent, cx + extent, cy + extent);
        for (var y = y0; y < y1; y++)
            for (var x = x0; x < x1; x++)
            {
                // Pixel centre in the object's frame: rotate back, divide by the radius.
                var dx = x + 0.5f - cx;
                var dy = y + 0.5f - cy;
                var u = (cos * dx + sin * dy) / radius;
                var v = (-sin * dx + cos * dy) / radius;
                var shape = ShapeDistance(cls.Shape, u, v);
                var alpha = Coverage(shape * radius);
                if (alpha <= 0) continue;
                var mix = Coverage(PatternDistance(cls.Pattern, u, v, shape) * radius);
                var p = y * s + x;
                for (var c = 0; c < 3; c++)
                {
                    var colour = primary[c] + (secondary[c] - primary[c]) * mix;
                    img[c * plane + p] += (colour - img[c * plane + p]) * alpha;
                }
            }
    }

    // A rectangle near the object, at most about a third of its area, in a random colour.
    private static void DrawOccluder(float[] img, int s, float cx, float cy, float radius, ref SplitMix64 rng)
    {
        var colour = RandomColour(ref rng, paletteProbability: 0.3);
        var hw = (float)rng.Uniform(0.25, 0.5) * radius;
        var hh = (float)rng.Uniform(0.25, 0.5) * radius;
        var ox = cx + (float)rng.Uniform(-0.9, 0.9) * radius;
        var oy = cy + (float)rng.Uniform(-0.9, 0.9) * radius;
        Fill(img, s, colour, ox - hw - 1, oy - hh - 1, ox + hw + 1, oy + hh + 1,
            (x, y) => BoxDistance(x - ox, y - oy, hw, hh));
    }

    // Brightness (scale), contrast (around the mean grey) and a hue rotation about the grey axis.
    private static void JitterColours(float[] img, int s, SyntheticDatasetOptions o, ref SplitMix64 rng)
    {
        var brightness = (float)rng.Uniform(1 - o.ColourJitter, 1 + o.ColourJitter);
        var contrast = (float)rng.Uniform(1 - o.ColourJitter, 1 + o.ColourJitter);
        var hue = rng.Uniform(-o.MaxHueShiftDegrees, o.MaxHueShiftDegrees) * Math.PI / 180;
        // Rodrigues rotation about k = (1,1,1)/sqrt(3): M = cos I + sin [k]x + (1 - cos) k k^T.
        var cosH = (float)Math.Cos(hue);
        var sinH = (float)Math.Sin(hue) / MathF.Sqrt(3);
        var t = (1 - cosH) / 3;
        float a = cosH + t, b = t - sinH, d = t + sinH;
        var plane = s * s;
        double sum = 0;
        for (var i = 0; i < img.Length; i++) sum += img[i];
        var mean = (float)(sum / img.Length);
        for (var p = 0; p < plane; p++)
        {
            var r = img[p];
            var g = img[plane + p];
            var bl = img[2 * plane + p];
            var r2 = a * r + b * g + d * bl;
            var g2 = d * r + a * g + b * bl;
            var b2 = b * r + d * g + a * bl;
            img[p] = ((r2 - mean) * contrast + mean) * brightness;
            img[plane + p] = ((g2 - mean) * contrast + mean) * brightness;
            img[2 * plane + p] = ((b2 - mean) * contrast + mean) * brightness;
        }
    }

    private static void Quantise(float[] img, double noiseStd, ref SplitMix64 rng, Span<byte> output)
    {
        for (var i = 0; i < img.Length; i++)
        {
            var v = img[i] + (noiseStd > 0 ? (float)(noiseStd * rng.NextGaussian()) : 0f);
            output[i] = (byte)Math.Clamp((int)MathF.Round(v * 255f), 0, 255);
        }
    }

    /// <summary>Shape SDFs in object units (radius about 1), negative inside.</summary>
    internal static float ShapeDistance(SyntheticShape shape, float u, float v)
    {
        switch (shape)
        {
            case SyntheticShape.Circle:
                return MathF.Sqrt(u * u + v * v) - 0.95f;
            case SyntheticShape.Square:
                return BoxDistance(u, v, 0.8f, 0.8f);
            case SyntheticShape.Triangle:
            {
                // Intersection of three half-planes; the apex points up (image y grows downwards).
                const float r = 0.55f; // inradius: distance from the centroid to each side (circumradius 1.1)
                var s3 = MathF.Sqrt(3) / 2;
                var e1 = v - r;                       // bottom side
                var e2 = -0.5f * v + s3 * u - r;      // right side
                var e3 = -0.5f * v - s3 * u - r;      // left side
                return MathF.Max(e1, MathF.Max(e2, e3)); // exact inside, a slight underestimate outside
            }
            case SyntheticShape.Cross:
                return MathF.Min(BoxDistance(u, v, 0.95f, 0.36f), BoxDistance(u, v, 0.36f, 0.95f));
            case SyntheticShape.Ring:
                return MathF.Abs(MathF.Sqrt(u * u + v * v) - 0.68f) - 0.3f;
            case SyntheticShape.Star:
            {
                // Radius interpolates linearly in angle between 5 tips (1.0) and 5 notches (0.45): close to a star
                // polygon; the 0.6 factor keeps the radial difference from overstating the true distance.
                var rho = MathF.Sqrt(u * u + v * v);
                var theta = MathF.Atan2(u, -v); // 0 at the top
                var phase = theta * 5 / (2 * MathF.PI);
                var tri = MathF.Abs(2 * (phase - MathF.Floor(phase)) - 1); // 1 at tips, 0 at notches
                return (rho - (0.45f + 0.55f * tri)) * 0.6f;
            }
            case SyntheticShape.Crescent:
            {
                var outer = MathF.Sqrt(u * u + v * v) - 0.95f;
                var bite = MathF.Sqrt((u - 0.5f) * (u - 0.5f) + v * v) - 0.7f;
                return MathF.Max(outer, -bite);
            }
            case SyntheticShape.Ellipse:
            {
                // Normalised-radius approximation, scaled by the minor axis.
                var k = MathF.Sqrt(u * u + 4 * v * v);
                return (k - 1f) * 0.5f;
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(shape), shape, "Unknown shape.");
        }
    }

    /// <summary>Pattern SDFs in object units: negative where the secondary colour is.</summary>
    internal static float PatternDistance(SyntheticPattern pattern, float u, float v, float shapeDistance)
    {
        switch (pattern)
        {
            case SyntheticPattern.Plain:
                return -OutlineWidth - shapeDistance; // the band within OutlineWidth of the edge
            case SyntheticPattern.TwoTone:
                return -v;                           // the bottom half
            case SyntheticPattern.HorizontalStripes:
                return Stripe(v);
            case SyntheticPattern.VerticalStripes:
                return Stripe(u);
            case SyntheticPattern.Dots:
            {
                var qu = u / DotSpacing - MathF.Round(u / DotSpacing);
                var qv = v / DotSpacing - MathF.Round(v / DotSpacing);
                return MathF.Sqrt(qu * qu + qv * qv) * DotSpacing - DotRadius;
            }
            case SyntheticPattern.Checker:
            {
                var cu = u / CheckerCell;
                var cv = v / CheckerCell;
                var edge = MathF.Min(MathF.Abs(cu - MathF.Round(cu)), MathF.Abs(cv - MathF.Round(cv))) * CheckerCell;
                var odd = (((int)MathF.Floor(cu) + (int)MathF.Floor(cv)) & 1) == 1;
                return odd ? -edge : edge;
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(pattern), pattern, "Unknown pattern.");
        }
    }

    private static float Stripe(float w)
    {
        var q = w / StripePeriod - MathF.Round(w / StripePeriod);
        return (MathF.Abs(q) - StripeDuty / 2) * StripePeriod;
    }

    private static float BoxDistance(float x, float y, float hw, float hh)
    {
        var qx = MathF.Abs(x) - hw;
        var qy = MathF.Abs(y) - hh;
        var ox = MathF.Max(qx, 0);
        var oy = MathF.Max(qy, 0);
        return MathF.Sqrt(ox * ox + oy * oy) + MathF.Min(MathF.Max(qx, qy), 0);
    }

    private static float SegmentDistance(float px, float py, float ax, float ay, float bx, float by)
    {
        float dx = bx - ax, dy = by - ay;
        var h = Math.Clamp(((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy), 0f, 1f);
        var ex = px - ax - h * dx;
        var ey = py - ay - h * dy;
        return MathF.Sqrt(ex * ex + ey * ey);
    }

    private static float Coverage(float distanceInPixels) => Math.Clamp(0.5f - distanceInPixels, 0f, 1f);

    private static (int X0, int X1, int Y0, int Y1) Bounds(int s, float xMin, float yMin, float xMax, float yMax) =>
        (Math.Clamp((int)MathF.Floor(xMin), 0, s), Math.Clamp((int)MathF.Ceiling(xMax), 0, s),
         Math.Clamp((int)MathF.Floor(yMin), 0, s), Math.Clamp((int)MathF.Ceiling(yMax), 0, s));

    // Composites a solid colour over the pixels of a bounding box with SDF coverage (pixel units).
    private static void Fill(float[] img, int s, float[] colour, float xMin, float yMin, float xMax, float yMax, Func<float, float, float> sdf)
    {
        var (x0, x1, y0, y1) = Bounds(s, xMin, yMin, xMax, yMax);
        var plane = s * s;
        for (var y = y0; y < y1; y++)
            for (var x = x0; x < x1; x++)
            {
                var alpha = Coverage(sdf(x + 0.5f, y + 0.5f));
                if (alpha <= 0) continue;
                var p = y * s + x;
                for (var c = 0; c < 3; c++) img[c * plane + p] += (colour[c] - img[c * plane + p]) * alpha;
            }
    }

    private static float[] RandomColour(ref SplitMix64 rng, double paletteProbability)
    {
        if (rng.Chance(paletteProbability))
        {
            var palette = SyntheticColourSchemes.PaletteColours;
            return palette[rng.NextInt(palette.Length)];
        }
        return [(float)rng.NextDouble(), (float)rng.NextDouble(), (float)rng.NextDouble()];
    }
}
