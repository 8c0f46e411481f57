using System.Diagnostics;
using EmbeddingDistillation.Data;
using EmbeddingDistillation.Evaluation;
using EmbeddingDistillation.Losses;
using EmbeddingDistillation.Networks;
using EmbeddingDistillation.Samples.Runs;
using EmbeddingDistillation.Training;
using Microsoft.Extensions.Logging;
using Spectre.Console;
using TorchSharp;

namespace EmbeddingDistillation.Samples.Quickstart;

/// <summary>
/// One quickstart run: data, teacher, students, evaluation, report. Every training run lives in
/// <c>REPORT/checkpoints/NAME</c> (<see cref="RunFolder"/>): with <c>--resume</c> a finished run is reloaded and an
/// interrupted one continues from its last checkpoint, so the report equals the one of an uninterrupted run.
/// </summary>
internal sealed class QuickstartRun
{
    /// <summary>Everything the quickstart writes into its report folder (what <c>--overwrite</c> deletes).</summary>
    public static readonly SampleOutputs Outputs = new(
        ["results.csv", "results.md", "training-curves.png", "recall-at-k.png", "index-grid.png", "student.onnx", "student-test.edidx"],
        ["checkpoints"]);

    private readonly QuickstartOptions o;
    private readonly IAnsiConsole console;
    private readonly TrainingRunner runner;
    private readonly List<(string Name, TrainingResult Result)> runs = [];

    /// <summary>Creates the run.</summary>
    /// <param name="options">The resolved options.</param>
    /// <param name="console">Where lines go (default: the process console).</param>
    /// <param name="runner">Runs each training (default: under a console progress bar).</param>
    public QuickstartRun(QuickstartOptions options, IAnsiConsole? console = null, TrainingRunner? runner = null)
    {
        o = options;
        this.console = console ?? AnsiConsole.Console;
        this.runner = runner ?? ConsoleProgress.Runner;
    }

    /// <summary>Runs everything; throws <see cref="OperationCanceledException"/> when cancelled (the checkpoints stay valid).</summary>
    public int Execute(CancellationToken cancellationToken)
    {
        var total = Stopwatch.StartNew();
        // First, before any work: the report folder is new, resumable with these settings, or explicitly overwritten.
        foreach (var line in ReportFolder.Prepare(o.Report, o.RunSettings(), o.Resume, o.Overwrite, Outputs))
            console.MarkupLine(Markup.Escape(line));
        torch.set_num_threads(o.Threads);
        var device = Devices.Pick(o.Device);
        using var loggerFactory = LoggerFactory.Create(b => b
            .AddSimpleConsole(c => { c.SingleLine = true; c.TimestampFormat = "HH:mm:ss "; })
            .SetMinimumLevel(LogLevel.Warning));

        if (Console.IsOutputRedirected) console.Profile.Width = 160;
        console.MarkupLine($"[bold]EmbeddingDistillation quickstart[/]{(o.Fast ? " [yellow](--fast)[/]" : "")} on {device}, {o.Threads} threads, seed {o.Seed}");

        // 1. Data: the synthetic fine-grained set, split by the paper's protocol (first half of the classes train,
        //    second half test), with validation classes carved out of the training half for model selection.
        var dataset = SyntheticFineGrainedDataset.Generate(new SyntheticDatasetOptions
        {
            ClassCount = o.Classes, ImagesPerClass = o.ImagesPerClass, ImageSize = o.ImageSize, Seed = o.Seed,
        });
        var split = ClassSplit.PaperProtocol(dataset.Labels, o.ValidationClasses);
        var classMap = ClassIndexMap.FromLabels(split.TrainIndices.Select(i => dataset.Labels[i]).ToArray());
        var train = new DatasetView(dataset, split.TrainIndices.ToArray(),
            classMap.Reindex(split.TrainIndices.Select(i => dataset.Labels[i]).ToArray()), "train");
        var validation = dataset.Subset(split.ValidationIndices, "validation");
        var test = dataset.Subset(split.TestIndices, "test");
        console.MarkupLine(
            $"Synthetic dataset: {o.Classes} classes x {o.ImagesPerClass} images at {o.ImageSize} px, generated in {dataset.GenerationTime.TotalSeconds:F1} s; " +
            $"train {split.TrainClasses.Count} classes / {train.Count} images, validation {split.ValidationClasses.Count} / {validation.Count}, " +
            $"test {split.TestClasses.Count} / {test.Count} (never used for selection).");
        var data = new TrainingData
        {
            Train = train,
            Sampler = new ClassBalancedSampler(train.Labels, new ClassBalancedSamplerOptions
            {
                ClassesPerBatch = o.ClassesPerBatch, ImagesPerClass = o.ImagesPerClassInBatch, Seed = o.Seed,
            }),
            Validator = new RetrievalValidator(validation),
        };

        // 2. Teacher: a ResNet trained with a metric loss that spreads the embedding.
        var teacher = CreateTeacher();
        teacher.to(device);
        if (o.TeacherWeights is not null)
        {
            NetworkCheckpoint.Load(teacher, o.TeacherWeights);
            console.MarkupLine($"Teacher weights loaded from {Markup.Escape(o.TeacherWeights)} (not retrained).");
        }
        else
            Train("teacher", teacher, TrainingObjective.MetricOnly(MetricLoss(o.TeacherLoss, classMap.ClassCount)),
                data, o.TeacherEpochs, o.TeacherLearningRate, loggerFactory, cancellationToken);

        // 3-4. Students: identical architecture, initialisation, batches, schedule and metric loss; only the
        //      distillation terms differ. The teacher sees the clean (un-augmented) view, so its embeddings are cached.
        var students = new List<TrainedStudent>();
        foreach (var variant in (o.Baseline ? new[] { "baseline" } : []).Concat(o.Distill))
        {
            var student = CreateStudent();
            student.to(device);
            var objective = StudentObjective(variant, teacher, MetricLoss(o.StudentLoss, classMap.ClassCount));
            string name = variant == "baseline" ? "student-baseline" : $"student-{variant}";
            var result = Train(name, student, objective, data, o.StudentEpochs, o.StudentLearningRate, loggerFactory, cancellationToken);
            students.Add(new TrainedStudent(name, variant == "baseline" ? ModelRole.Baseline : ModelRole.Distilled, student, result.BestMetric));
        }

        // 5. Evaluation on the held-out test classes, and cost.
        var results = new List<ModelResult> { Evaluate("teacher", ModelRole.Teacher, teacher, test, cancellationToken) };
        results.AddRange(students.Select(s => Evaluate(s.Name, s.Role, s.Network, test, cancellationToken)));

        // 6. Report.
        ResultsTable.Write(o.Report, results);
        Charts.TrainingCurves(Path.Combine(o.Report, "training-curves.png"), runs);
        Charts.RecallAtK(Path.Combine(o.Report, "recall-at-k.png"), results);
        QuickstartReport.PrintTable(console, results);
        QuickstartReport.PrintVerdict(console, results);

        // 7. Deploy the best distilled student (chosen on validation classes, not test).
        QuickstartReport.Deploy(console, o, students, test, dataset, cancellationToken);
        console.MarkupLine($"Report: {Markup.Escape(Path.GetFullPath(o.Report))} (results.csv, results.md, training-curves.png, recall-at-k.png, index-grid.png, student.onnx, checkpoints/). Total {total.Elapsed:mm\\:ss}.");
        return 0;
    }

    private EmbeddingNetwork CreateTeacher()
    {
        torch.manual_seed(o.Seed);
        return EmbeddingNetworks.Create(o.Teacher, o.EmbeddingDim, new EmbeddingNetworkOptions
        {
            SmallInputStem = o.TeacherSmallStem, BaseWidth = o.TeacherBaseWidth,
        });
    }

    private EmbeddingNetwork CreateStudent()
    {
        // Same seed for every student: the baseline and the distilled students start from identical weights.
        torch.manual_seed(o.Seed + 1);
        return EmbeddingNetworks.Create(o.Student, o.EmbeddingDim, new EmbeddingNetworkOptions { SmallInputStem = o.StudentSmallStem });
    }

    private TrainingObjective StudentObjective(string variant, IEmbeddingNetwork teacher, IMetricLoss metric) => variant switch
    {
        "baseline" => TrainingObjective.MetricOnly(metric),
        "absolute" => TrainingObjective.Distillation(metric, teacher, new WeightedDistillationTerm(new AbsoluteTeacherLoss(), o.LambdaAbsolute)),
        "relative" => TrainingObjective.Distillation(metric, teacher, new WeightedDistillationTerm(new RelativeTeacherLoss(), o.LambdaRelative)),
        "rkd" => TrainingObjective.Distillation(metric, teacher,
            new WeightedDistillationTerm(new RkdDistanceLoss(), o.LambdaRkdDistance),
            new WeightedDistillationTerm(new RkdAngleLoss(), o.LambdaRkdAngle)),
        _ => throw new ArgumentException($"Unknown student variant '{variant}'.", nameof(variant)),
    };

    private IMetricLoss MetricLoss(string name, int classes) => name switch
    {
        "proxy-anchor" => new ProxyAnchorLoss(classes, o.EmbeddingDim),
        "multi-similarity" => new MultiSimilarityLoss(),
        "triplet" => new TripletLoss(0.1, TripletMining.BatchHard),
        "contrastive" => new ContrastiveLoss(0, 0.5),
        _ => throw new ArgumentException($"Unknown metric loss '{name}' (use {string.Join(", ", QuickstartSettings.MetricLosses)})."),
    };

    /// <summary>Trains one run in its folder, or reloads it when an earlier session finished it.</summary>
    private TrainingResult Train(string name, EmbeddingNetwork network, TrainingObjective objective, TrainingData data,
        int epochs, double learningRate, ILoggerFactory loggers, CancellationToken ct)
    {
        var folder = new RunFolder(Path.Combine(o.Report, "checkpoints", name));
        TrainingResult result;
        if (folder.IsFinished)
        {
            result = folder.LoadFinished(network);
            console.MarkupLine($"  {name}: finished in an earlier session, reloaded from {Markup.Escape(folder.Path)} (not retrained).");
        }
        else
        {
            var options = new TrainingOptions
            {
                Epochs = epochs, Optimizer = OptimizerKind.AdamW, LearningRate = learningRate, WeightDecay = 1e-4,
                Schedule = LearningRateSchedule.Cosine, WarmupSteps = data.Sampler.BatchesPerEpoch, Seed = o.Seed,
                LossParameterLearningRateMultiplier = 100, TeacherView = TeacherView.Clean,
                CheckpointDirectory = folder.Path, Resume = o.Resume, LoggerFactory = loggers,
            };
            result = runner(name, progress => new Trainer().Fit(network, objective, data, options, progress, ct));
            if (result.Cancelled)
                throw new OperationCanceledException($"{name} stopped after step {result.Steps}; its checkpoint is in {folder.Path}.", ct);
            folder.MarkFinished(network, result, $"{name}: {epochs} epochs, lr {learningRate}");
            console.MarkupLine($"  {name}: {result.Steps} steps in {result.Elapsed:mm\\:ss} ({result.ImagesPerSecond:F0} img/s){(result.Resumed ? " after resuming from its checkpoint" : "")}, " +
                $"best validation R@1 {result.BestMetric:P1} after epoch {result.BestEpoch}");
        }
        runs.Add((name, result));
        return result;
    }

    private ModelResult Evaluate(string name, ModelRole role, EmbeddingNetwork network, IEmbeddingDataset test, CancellationToken ct)
    {
        using var extracted = EmbeddingExtractor.Extract(network, test, cancellationToken: ct);
        var metrics = RetrievalMetrics.Evaluate(extracted.Embeddings, extracted.Labels, RecallPresets.Quickstart, cancellationToken: ct);
        var complexity = ModelComplexity.Measure(network, o.ImageSize, o.ImageSize);
        double latency = InferenceLatency.MillisecondsPerImage(network, o.ImageSize, batchSize: 1, iterations: o.Fast ? 10 : 30);
        return new ModelResult(name, role, metrics.RecallAtK, metrics.MapAtR, complexity.Parameters, complexity.Macs, latency);
    }
}

/// <summary>A trained student with its validation score (the deploy step picks the best by validation, never by test).</summary>
internal sealed record TrainedStudent(string Name, ModelRole Role, EmbeddingNetwork Network, double? Validation);
