namespace EmbeddingDistillation.Data;

/// <summary>
/// Class-disjoint train / validation / test index sets: metric learning is evaluated on classes never seen in
/// training. Labels are not changed: every index keeps its original class id (use <see cref="ClassIndexMap"/>
/// when a loss needs labels 0..C-1, e.g. proxy-based losses).
/// </summary>
/// <remarks>
/// Paper protocol: classes sorted by id, the first half train, the second half test (CUB 100/100, Cars 98/98);
/// with an odd class count the test half gets the extra class. Following "A Metric Learning Reality Check"
/// (Musgrave et al., 2020), the validation classes are carved out of the training classes (the last ones by id),
/// so test classes are never used for model selection. Unlabelled samples belong to no set.
/// </remarks>
public sealed class ClassSplit
{
    /// <summary>The default fraction of training classes held out for validation.</summary>
    public const double DefaultValidationFraction = 0.2;

    private ClassSplit(int[] train, int[] validation, int[] test, IReadOnlyList<int> labels)
    {
        TrainClasses = train;
        ValidationClasses = validation;
        TestClasses = test;
        TrainIndices = IndicesOf(labels, train);
        ValidationIndices = IndicesOf(labels, validation);
        TestIndices = IndicesOf(labels, test);
    }

    /// <summary>Sorted class ids used for training.</summary>
    public IReadOnlyList<int> TrainClasses { get; }

    /// <summary>Sorted class ids held out from the training half for validation / model selection.</summary>
    public IReadOnlyList<int> ValidationClasses { get; }

    /// <summary>Sorted class ids of the test half (final evaluation only).</summary>
    public IReadOnlyList<int> TestClasses { get; }

    /// <summary>Sample indices (ascending) whose label is a training class.</summary>
    public IReadOnlyList<int> TrainIndices { get; }

    /// <summary>Sample indices (ascending) whose label is a validation class.</summary>
    public IReadOnlyList<int> ValidationIndices { get; }

    /// <summary>Sample indices (ascending) whose label is a test class.</summary>
    public IReadOnlyList<int> TestIndices { get; }

    /// <summary>
    /// The paper's split with a validation carve: first half of the sorted classes -> train, second half -> test;
    /// the last round(<paramref name="validationFraction"/> x train classes) training classes -> validation.
    /// </summary>
    /// <param name="labels">One label per sample (<see cref="DatasetLabels.Unlabelled"/> samples are left out).</param>
    /// <param name="validationFraction">In [0, 1); default 0.2; 0 means no validation set. At least one class stays in train.</param>
    public static ClassSplit PaperProtocol(IReadOnlyList<int> labels, double validationFraction = DefaultValidationFraction)
    {
        if (double.IsNaN(validationFraction) || validationFraction < 0 || validationFraction >= 1)
            throw new ArgumentOutOfRangeException(nameof(validationFraction), validationFraction, "The validation fraction must be in [0, 1).");
        var classes = SortedClasses(labels);
        var trainHalf = classes.Length / 2;
        var count = (int)Math.Round(validationFraction * trainHalf, MidpointRounding.AwayFromZero);
        return Build(labels, classes, Math.Min(count, trainHalf - 1));
    }

    /// <summary>The paper's split with exactly <paramref name="validationClassCount"/> validation classes carved from the train half.</summary>
    /// <param name="labels">One label per sample (<see cref="DatasetLabels.Unlabelled"/> samples are left out).</param>
    /// <param name="validationClassCount">0 or more, less than the number of training classes.</param>
    public static ClassSplit PaperProtocol(IReadOnlyList<int> labels, int validationClassCount)
    {
        var classes = SortedClasses(labels);
        var trainHalf = classes.Length / 2;
        if (validationClassCount < 0 || validationClassCount >= trainHalf)
            throw new ArgumentOutOfRangeException(nameof(validationClassCount), validationClassCount,
                $"The validation class count must be in [0, {trainHalf}) : the train half has {trainHalf} of {classes.Length} classes.");
        return Build(labels, classes, validationClassCount);
    }

    private static ClassSplit Build(IReadOnlyList<int> labels, int[] classes, int validationCount)
    {
        var trainHalf = classes.Length / 2;
        var train = classes[..(trainHalf - validationCount)];
        var validation = classes[(trainHalf - validationCount)..trainHalf];
        var test = classes[trainHalf..];
        return new ClassSplit(train, validation, test, labels);
    }

    private static int[] SortedClasses(IReadOnlyList<int> labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var set = new SortedSet<int>();
        for (var i = 0; i < labels.Count; i++)
        {
            var label = labels[i];
            if (label == DatasetLabels.Unlabelled) continue;
            if (label < 0)
                throw new ArgumentException($"Label {label} of sample {i} is invalid: labels are >= 0, or {DatasetLabels.Unlabelled} for unlabelled.", nameof(labels));
            set.Add(label);
        }
        if (set.Count < 2)
            throw new ArgumentException($"A class-disjoint split needs at least 2 labelled classes; the labels have {set.Count}.", nameof(labels));
        return set.ToArray();
    }

    private static int[] IndicesOf(IReadOnlyList<int> labels, int[] classes)
    {
        var wanted = new HashSet<int>(classes);
        var result = new List<int>();
        for (var i = 0; i < labels.Count; i++)
            if (wanted.Contains(labels[i])) result.Add(i);
        return result.ToArray();
    }
}
