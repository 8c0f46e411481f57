namespace EmbeddingDistillation.Networks;

/// <summary>Channel rounding for width multipliers (the rule of torchvision's <c>_make_divisible</c>).</summary>
internal static class ChannelRounding
{
    /// <summary>
    /// Rounds <paramref name="channels"/> x <paramref name="width"/> to the nearest multiple of
    /// <paramref name="divisor"/>, at least <paramref name="divisor"/>, and never more than 10% below the
    /// unrounded value (then one divisor is added).
    /// </summary>
    public static int Round(double channels, double width, int divisor = 8)
    {
        double v = channels * width;
        int rounded = Math.Max(divisor, (int)(v + divisor / 2.0) / divisor * divisor);
        if (rounded < 0.9 * v) rounded += divisor;
        return rounded;
    }

    /// <summary>Throws unless the width multiplier is a positive finite number.</summary>
    public static void CheckWidth(double width, string paramName)
    {
        if (!(width > 0) || double.IsInfinity(width))
            throw new ArgumentOutOfRangeException(paramName, width, "The width multiplier must be a positive finite number (e.g. 0.25, 0.5, 0.75, 1.0).");
    }
}
