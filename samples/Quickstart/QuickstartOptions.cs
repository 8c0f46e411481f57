using EmbeddingDistillation.Samples.Runs;

namespace EmbeddingDistillation.Samples.Quickstart;

/// <summary>
/// The resolved options of one quickstart run (see <see cref="QuickstartSettings"/> for the command line): the
/// defaults are the calibrated full run.
/// </summary>
internal sealed record QuickstartOptions
{
    public bool Fast { get; init; }
    /// <summary><c>--calibrate</c>: choose the defaults on validation classes instead of running the quickstart.</summary>
    public bool Calibrate { get; init; }
    /// <summary>The dataset seeds of the calibration (never those of the reported results).</summary>
    public IReadOnlyList<int> CalibrationSeeds { get; init; } = [1, 5];
    /// <summary><c>--seeds</c>: run the quickstart once per seed and summarise (empty: one run on <see cref="Seed"/>).</summary>
    public IReadOnlyList<int> Seeds { get; init; } = [];
    public string Report { get; init; } = "quickstart-report";
    public bool Resume { get; init; }
    public bool Overwrite { get; init; }
    public int Seed { get; init; } = 7;
    public string Device { get; init; } = "auto";
    public int Threads { get; init; } = Environment.ProcessorCount;
    /// <summary>
    /// <c>--parallel-students</c>: students trained at once, each on its own thread with <see cref="ThreadsPerStudent"/>
    /// libtorch threads (the command line's default on the CPU: one per thread, so every student trains at one thread).
    /// </summary>
    public int ParallelStudents { get; init; } = 1;

    /// <summary>The libtorch threads of each student: <see cref="Threads"/> shared by <see cref="ParallelStudents"/>.</summary>
    public int ThreadsPerStudent => Math.Max(1, Threads / Math.Max(1, ParallelStudents));

    // Data: the embedded synthetic fine-grained dataset, split by the paper's protocol.
    public int Classes { get; init; } = 100;
    public int ImagesPerClass { get; init; } = 50;
    public int ImageSize { get; init; } = 32;
    public int ValidationClasses { get; init; } = DefaultValidationClasses;

    /// <summary>Validation classes carved from the 50 training classes in a run: they choose each run's best epoch.</summary>
    public const int DefaultValidationClasses = 10;

    /// <summary>
    /// Validation classes of <c>--calibrate</c>, which chooses the defaults. With 10, most validation classes were the
    /// only one of their colour pair (0.6-1.6 rivals of the same pair per class on seeds 1-7), so colour alone
    /// retrieved them and validation Recall@1 saturated (baseline 85%) while the 50 test classes (about 6 rivals per
    /// class) need shape and pattern. With 20 every class has about 2 rivals: the same kind of task as the test. The
    /// defaults chosen on 30 training classes then train every run on 40 (tune on a split, train on more).
    /// </summary>
    public const int DefaultCalibrationValidationClasses = 20;

    // Networks.
    /// <summary>The size the ImageNet teacher sees the 32-px images at when <c>--teacher-image-size</c> is not given.</summary>
    public const int DefaultImageNetTeacherImageSize = 64;
    /// <summary>
    /// Fine-tuning the ImageNet teacher: its pretrained backbone learns at this fraction of <c>--teacher-lr</c>, the new
    /// head and the proxies at the rate itself (a common fine-tuning convention, not calibrated here).
    /// </summary>
    public const double PretrainedBackboneRateFactor = 0.1;

    public string Teacher { get; init; } = "resnet18";
    public string? TeacherWeights { get; init; }
    /// <summary><c>--imagenet-model</c>: ResNet18.onnx; null: found by <c>ImageNetResNet18.FindModelFile</c>.</summary>
    public string? ImageNetModel { get; init; }
    /// <summary><c>--freeze-teacher</c>: never train the teacher (the ImageNet teacher's embedding is then its pooled 512 features).</summary>
    public bool FreezeTeacher { get; init; }
    /// <summary><c>--teacher-image-size</c>: the size the ImageNet teacher sees every image at (resized inside the teacher).</summary>
    public int TeacherImageSize { get; init; } = DefaultImageNetTeacherImageSize;
    /// <summary>Cache the teacher's embeddings of the clean view (default true; <c>--no-teacher-cache</c> to measure what it saves).</summary>
    public bool TeacherCache { get; init; } = true;
    /// <summary>The teacher is the ImageNet ResNet-18.</summary>
    public bool ImageNetTeacher => Teacher == ImageNetTeacherOption.Name;
    public int TeacherBaseWidth { get; init; } = 64;
    public bool TeacherSmallStem { get; init; }
    public string Student { get; init; } = "mobilenetv1-0.25";
    public bool StudentSmallStem { get; init; } = true;
    public int EmbeddingDim { get; init; } = 128;

    // Objectives.
    public string TeacherLoss { get; init; } = "proxy-anchor";
    public string StudentLoss { get; init; } = "multi-similarity";
    public double LambdaAbsolute { get; init; } = 5.0;
    /// <summary>The relative term's weight when it trains alone (calibrated per pair: 1).</summary>
    public double LambdaRelative { get; init; } = 1.0;
    /// <summary>
    /// The relative term's weight inside absolute+relative (calibrated with the combination, not copied from the relative
    /// student; the stage also tries 10, the paper's CUB weight per pair: at 60 epochs 1 scored higher).
    /// </summary>
    public double LambdaRelativeCombined { get; init; } = 1.0;
    public double LambdaRkdDistance { get; init; } = 1.0;
    public double LambdaRkdAngle { get; init; } = 2.0;
    /// <summary>
    /// The calibrated metric-loss weights of the distilled methods (docs/quickstart.md): on 20 validation classes with
    /// the 60-epoch budget and the 5-epoch warm-up, every method scored highest with the student's own metric loss
    /// (the paper's sum).
    /// </summary>
    public const string CalibratedMetricWeights = "absolute=1,absolute+relative=1,relative=1,rkd=1";
    /// <summary>The weight of the students' own metric loss in each distilled method (1 when a method is not listed).</summary>
    public IReadOnlyDictionary<string, double> DistilledMetricWeights { get; init; } = QuickstartSettings.MetricWeights(CalibratedMetricWeights)!;
    public IReadOnlyList<string> Distill { get; init; } = ["absolute", "relative", "absolute+relative"];
    public bool Baseline { get; init; } = true;

    // Schedules.
    public int TeacherEpochs { get; init; } = 20;
    public int StudentEpochs { get; init; } = DefaultStudentEpochs;
    /// <summary>The calibrated budget of <see cref="StudentEpochs"/>, chosen on the baseline (<c>--fast</c>: 4).</summary>
    public const int DefaultStudentEpochs = 60;
    public double TeacherLearningRate { get; init; } = 1e-3;
    public double StudentLearningRate { get; init; } = 3e-2;

    /// <summary>
    /// The students' linear warm-up, in epochs, before the cosine decay (the teacher always warms up for one). Chosen on the
    /// baseline by the calibration's warm-up stage, like the budget, and the same for every student.
    /// </summary>
    public int StudentWarmupEpochs { get; init; } = DefaultStudentWarmupEpochs;

    /// <summary>The calibrated warm-up of <see cref="StudentWarmupEpochs"/> (<c>--fast</c>: 1).</summary>
    public const int DefaultStudentWarmupEpochs = 5;
    /// <summary>
    /// The students' weight averaging: the decay of the exponential moving average of their weights that validation, the
    /// best epoch and the reported network use (<c>TrainingOptions.WeightAverageDecay</c>), 0 for none. Chosen on the
    /// baseline by the calibration's averaging stage, like the budget and the warm-up, and the same for every student.
    /// </summary>
    public double StudentWeightAverage { get; init; } = DefaultStudentWeightAverage;

    /// <summary>The calibrated <see cref="StudentWeightAverage"/>.</summary>
    public const double DefaultStudentWeightAverage = 0.99;
    public int ClassesPerBatch { get; init; } = 8;
    public int ImagesPerClassInBatch { get; init; } = 8;

    /// <summary>
    /// A value the calibration's grid sets in every cell it trains (losses, rates, budget, warm-up, averaging, lambdas,
    /// metric weights): recorded as none for <c>--calibrate</c>, so a calibration folder stays resumable after the
    /// defaults change to what it chose.
    /// </summary>
    private object? Grid(object value) => Calibrate ? null : value;

    /// <summary>
    /// What <c>--resume</c> compares, by option name: every option that changes the results, and (warn only) the
    /// thread count and device, which change only their last bits.
    /// </summary>
    public RunSettings RunSettings() => new RunSettings { Sample = "quickstart" }
        .With("--fast", Fast).With("--seed", Seed).With("--calibrate", Calibrate)
        .With("--calibration-seeds", Calibrate ? string.Join(",", CalibrationSeeds) : "").With("--seeds", string.Join(",", Seeds))
        .With("--classes", Classes).With("--images-per-class", ImagesPerClass).With("--image-size", ImageSize)
        .With("--validation-classes", ValidationClasses)
        .With("--teacher", Teacher).With("--teacher-weights", TeacherWeights).With("--teacher-base-width", TeacherBaseWidth)
        .With("--freeze-teacher", FreezeTeacher).With("--teacher-image-size", ImageNetTeacher ? TeacherImageSize : null)
        .With("--teacher-small-stem", TeacherSmallStem).With("--student", Student).With("--student-standard-stem", !StudentSmallStem)
        .With("--embedding-dim", EmbeddingDim).With("--teacher-loss", Grid(TeacherLoss)).With("--student-loss", Grid(StudentLoss))
        .With("--lambda-absolute", Grid(LambdaAbsolute)).With("--lambda-relative", Grid(LambdaRelative))
        .With("--lambda-relative-combined", Grid(LambdaRelativeCombined))
        .With("--lambda-rkd-distance", Grid(LambdaRkdDistance)).With("--lambda-rkd-angle", Grid(LambdaRkdAngle))
        .With("--distilled-metric-weights", Grid(string.Join(",", DistilledMetricWeights.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)}"))))
        .With("--distill", Distill.Count == 0 ? "none" : string.Join(",", Distill)).With("--no-baseline", !Baseline)
        .With("--teacher-epochs", TeacherEpochs).With("--student-epochs", Grid(StudentEpochs))
        .With("--teacher-lr", Grid(TeacherLearningRate)).With("--student-lr", Grid(StudentLearningRate))
        .With("--student-warmup-epochs", Grid(StudentWarmupEpochs)).With("--student-weight-average", Grid(StudentWeightAverage))
        .With("--batch-classes", ClassesPerBatch).With("--batch-images-per-class", ImagesPerClassInBatch)
        .WithEnvironment("--threads", Threads).WithEnvironment("--device", Device).WithEnvironment("--parallel-students", ParallelStudents)
        .WithEnvironment("--imagenet-model", ImageNetModel).WithEnvironment("--no-teacher-cache", !TeacherCache);

    /// <summary>The relative term's weight in a distilled method: its own alone, the combined one inside a combination.</summary>
    public double RelativeLambdaOf(string method) => method == "relative" ? LambdaRelative : LambdaRelativeCombined;

    /// <summary>The metric-loss weight of a distilled method.</summary>
    public double MetricWeightOf(string method) => DistilledMetricWeights.TryGetValue(method, out var w) ? w : 1.0;
}
