namespace EmbeddingDistillation.Data;

/// <summary>The object shape of a synthetic class.</summary>
internal enum SyntheticShape
{
    /// <summary>A filled disc.</summary>
    Circle,
    /// <summary>A filled square.</summary>
    Square,
    /// <summary>An equilateral triangle pointing up.</summary>
    Triangle,
    /// <summary>A plus-shaped cross.</summary>
    Cross,
    /// <summary>An annulus (the pattern lives on the band).</summary>
    Ring,
    /// <summary>A five-pointed star.</summary>
    Star,
    /// <summary>A disc with an offset disc cut out, opening to the right.</summary>
    Crescent,
    /// <summary>A horizontal ellipse with aspect ratio 2:1.</summary>
    Ellipse,
}

/// <summary>How the secondary colour of a class is laid over its primary colour (the texture attribute).</summary>
internal enum SyntheticPattern
{
    /// <summary>Primary fill with a secondary outline.</summary>
    Plain,
    /// <summary>Top half primary, bottom half secondary (a two-tone split).</summary>
    TwoTone,
    /// <summary>Secondary horizontal stripes (in the object's frame).</summary>
    HorizontalStripes,
    /// <summary>Secondary vertical stripes (in the object's frame).</summary>
    VerticalStripes,
    /// <summary>A grid of secondary dots.</summary>
    Dots,
    /// <summary>A primary/secondary checkerboard.</summary>
    Checker,
}

/// <summary>A colour pair of a synthetic class: the object's fill and its pattern colour.</summary>
/// <param name="Index">Index of the scheme in <see cref="SyntheticColourSchemes.All"/>.</param>
/// <param name="PrimaryName">Name of the fill colour.</param>
/// <param name="SecondaryName">Name of the pattern colour.</param>
/// <param name="Primary">Fill colour, RGB in [0, 1].</param>
/// <param name="Secondary">Pattern colour, RGB in [0, 1].</param>
internal sealed record SyntheticColourScheme(int Index, string PrimaryName, string SecondaryName, float[] Primary, float[] Secondary);

/// <summary>The attribute combination that defines one synthetic class.</summary>
/// <param name="Label">The class label (0..C-1).</param>
/// <param name="Shape">The object shape.</param>
/// <param name="Colours">The colour pair.</param>
/// <param name="Pattern">The texture laying the secondary colour over the primary.</param>
internal sealed record SyntheticClass(int Label, SyntheticShape Shape, SyntheticColourScheme Colours, SyntheticPattern Pattern)
{
    /// <summary>A readable description, e.g. "Star red/white Dots".</summary>
    public override string ToString() => $"{Shape} {Colours.PrimaryName}/{Colours.SecondaryName} {Pattern}";
}

/// <summary>
/// The fixed colour vocabulary: eight (fill, pattern) pairs over eight colours, each colour used once as a fill and
/// once as a pattern colour, and no pair used in both orders, so colour alone narrows a class down to ~1/8.
/// </summary>
internal static class SyntheticColourSchemes
{
    private static readonly (string Name, float[] Rgb)[] Palette =
    [
        ("red", [0.85f, 0.15f, 0.15f]),
        ("green", [0.15f, 0.70f, 0.20f]),
        ("blue", [0.15f, 0.30f, 0.90f]),
        ("yellow", [0.95f, 0.85f, 0.15f]),
        ("magenta", [0.80f, 0.20f, 0.80f]),
        ("cyan", [0.20f, 0.80f, 0.85f]),
        ("orange", [0.95f, 0.55f, 0.10f]),
        ("white", [0.95f, 0.95f, 0.95f]),
    ];

    private static readonly (int Primary, int Secondary)[] Pairs =
        [(0, 7), (2, 3), (1, 4), (5, 6), (3, 0), (7, 2), (4, 5), (6, 1)];

    /// <summary>All colour schemes, in index order.</summary>
    public static IReadOnlyList<SyntheticColourScheme> All { get; } = Pairs
        .Select((p, i) => new SyntheticColourScheme(i, Palette[p.Primary].Name, Palette[p.Secondary].Name, Palette[p.Primary].Rgb, Palette[p.Secondary].Rgb))
        .ToArray();

    /// <summary>The palette colours (RGB in [0, 1]), also used for distractors so that colour is not a clean cue.</summary>
    internal static float[][] PaletteColours { get; } = Palette.Select(p => p.Rgb).ToArray();
}
