namespace EmbeddingDistillation.Losses;

/// <summary>What a loss made by name may need to know about the run it serves.</summary>
public sealed record LossContext
{
    /// <summary>Number of training classes (proxy-anchor: one proxy per class).</summary>
    public int ClassCount { get; init; }

    /// <summary>Embedding dimension (proxy-anchor's proxies).</summary>
    public int EmbeddingDimension { get; init; }

    /// <summary>Channels of the student's tapped map (hint's regressor input).</summary>
    public int StudentChannels { get; init; }

    /// <summary>Channels of the teacher's tapped map (hint's regressor output).</summary>
    public int TeacherChannels { get; init; }

    /// <summary>The maps a feature-map term (hint, attention) reads.</summary>
    public TapPair? Taps { get; init; }
}

/// <summary>
/// Every loss of the library by the name the samples accept on their command lines: metric losses
/// (<see cref="MetricLossNames"/>) and distillation terms (<see cref="DistillationTermNames"/>). Options are the
/// loss's own options record (e.g. <see cref="TripletLossOptions"/>); null takes its defaults.
/// </summary>
public static class LossCatalog
{
    /// <summary>The metric losses: <c>triplet</c>, <c>contrastive</c>, <c>multi-similarity</c>, <c>proxy-anchor</c>.</summary>
    public static IReadOnlyList<string> MetricLossNames { get; } = ["triplet", "contrastive", "multi-similarity", "proxy-anchor"];

    /// <summary>
    /// The distillation terms: <c>absolute</c>, <c>relative</c>, <c>rkd-distance</c>, <c>rkd-angle</c>,
    /// <c>relaxed-contrastive</c>, <c>hint</c>, <c>attention</c>.
    /// </summary>
    public static IReadOnlyList<string> DistillationTermNames { get; } =
        ["absolute", "relative", "rkd-distance", "rkd-angle", "relaxed-contrastive", "hint", "attention"];

    /// <summary>True when <paramref name="name"/> names a metric loss (case-insensitive; '_' counts as '-').</summary>
    /// <param name="name">The name.</param>
    public static bool IsMetricLoss(string name) => MetricLossNames.Contains(Normalise(name));

    /// <summary>True when <paramref name="name"/> names a distillation term (case-insensitive; '_' counts as '-').</summary>
    /// <param name="name">The name.</param>
    public static bool IsDistillationTerm(string name) => DistillationTermNames.Contains(Normalise(name));

    /// <summary>Creates a metric loss by name.</summary>
    /// <param name="name">One of <see cref="MetricLossNames"/>.</param>
    /// <param name="context">The run; proxy-anchor needs <see cref="LossContext.ClassCount"/> and <see cref="LossContext.EmbeddingDimension"/> unless its options give them.</param>
    /// <param name="options">The loss's options record, or null for its defaults.</param>
    /// <exception cref="ArgumentException">An unknown name, options of another loss, or a missing context value.</exception>
    public static IMetricLoss CreateMetricLoss(string name, LossContext? context = null, object? options = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        context ??= new LossContext();
        return Normalise(name) switch
        {
            "triplet" => new TripletLoss(Options<TripletLossOptions>(name, options) ?? new TripletLossOptions()),
            "contrastive" => new ContrastiveLoss(Options<ContrastiveLossOptions>(name, options)),
            "multi-similarity" => new MultiSimilarityLoss(Options<MultiSimilarityLossOptions>(name, options)),
            "proxy-anchor" => new ProxyAnchorLoss(Options<ProxyAnchorLossOptions>(name, options) ?? new ProxyAnchorLossOptions
            {
                ClassCount = Required(context.ClassCount, name, nameof(LossContext.ClassCount)),
                EmbeddingDimension = Required(context.EmbeddingDimension, name, nameof(LossContext.EmbeddingDimension)),
            }),
            _ => throw new ArgumentException($"Unknown metric loss '{name}'; known: {string.Join(", ", MetricLossNames)}.", nameof(name)),
        };
    }

    /// <summary>Creates a distillation term by name.</summary>
    /// <param name="name">One of <see cref="DistillationTermNames"/>.</param>
    /// <param name="context">The run; hint needs the channel counts, hint and attention the taps (or options that give them).</param>
    /// <param name="options">The term's options record (attention: a <see cref="TapPair"/> array), or null for its defaults.</param>
    /// <exception cref="ArgumentException">An unknown name, options of another loss, or a missing context value.</exception>
    public static IDistillationLoss CreateDistillationTerm(string name, LossContext? context = null, object? options = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        context ??= new LossContext();
        switch (Normalise(name))
        {
            case "absolute": return new AbsoluteTeacherLoss(Options<AbsoluteTeacherLossOptions>(name, options));
            case "relative": return new RelativeTeacherLoss(Options<RelativeTeacherLossOptions>(name, options));
            case "rkd-distance": NoOptions(name, options); return new RkdDistanceLoss();
            case "rkd-angle": NoOptions(name, options); return new RkdAngleLoss();
            case "relaxed-contrastive": return new RelaxedContrastiveLoss(Options<RelaxedContrastiveLossOptions>(name, options));
            case "hint":
                var hint = Options<HintLossOptions>(name, options) ?? new HintLossOptions();
                return new HintLoss(Required(context.StudentChannels, name, nameof(LossContext.StudentChannels)),
                    Required(context.TeacherChannels, name, nameof(LossContext.TeacherChannels)),
                    hint with { Taps = hint.Taps ?? context.Taps });
            case "attention":
                var pairs = Options<TapPair[]>(name, options) ?? (context.Taps is { } taps ? [taps] : []);
                return new AttentionTransferLoss(pairs);
            default:
                throw new ArgumentException($"Unknown distillation term '{name}'; known: {string.Join(", ", DistillationTermNames)}.", nameof(name));
        }
    }

    private static string Normalise(string name) => name.Trim().ToLowerInvariant().Replace('_', '-');

    private static T? Options<T>(string name, object? options) where T : class => options switch
    {
        null => null,
        T typed => typed,
        _ => throw new ArgumentException($"The options of '{name}' must be a {typeof(T).Name}; got a {options.GetType().Name}.", nameof(options)),
    };

    private static void NoOptions(string name, object? options)
    {
        if (options is not null) throw new ArgumentException($"'{name}' has no options; got a {options.GetType().Name}.", nameof(options));
    }

    private static int Required(int value, string name, string what) =>
        value >= 1 ? value : throw new ArgumentException($"'{name}' needs LossContext.{what} (>= 1); got {value}.", "context");
}
