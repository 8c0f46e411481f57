using System.Diagnostics;
using System.Globalization;
using EmbeddingDistillation.Data;
using EmbeddingDistillation.Evaluation;
using EmbeddingDistillation.Export;
using EmbeddingDistillation.Losses;
using EmbeddingDistillation.Networks;
using EmbeddingDistillation.Training;
using Microsoft.Extensions.Logging;
using Spectre.Console;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Samples.Quickstart;

/// <summary>One quickstart run: data, teacher, students, evaluation, report.</summary>
internal sealed class QuickstartRun(QuickstartOptions o)
{
    private readonly List<(string Name, TrainingResult Result)> runs = [];

    public int Execute(CancellationToken cancellationToken)
    {
        var total = Stopwatch.StartNew();
        torch.set_num_threads(Math.Max(1, o.Threads));
        var device = Devices.Pick(o.Device);
        Directory.CreateDirectory(o.Report);
        var checkpoints = Path.Combine(o.Report, "checkpoints");
        using var loggerFactory = LoggerFactory.Create(b => b
            .AddSimpleConsole(c => { c.SingleLine = true; c.TimestampFormat = "HH:mm:ss "; })
            .SetMinimumLevel(LogLevel.Warning));

        if (Console.IsOutputRedirected) AnsiConsole.Profile.Width = 160;
        AnsiConsole.MarkupLine($"[bold]EmbeddingDistillation quickstart[/]{(o.Fast ? " [yellow](--fast)[/]" : "")} on {device}, {o.Threads} threads, seed {o.Seed}");

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
        AnsiConsole.MarkupLine(
            $"Synthetic dataset: {o.Classes} classes x {o.ImagesPerClass} images at {o.ImageSize} px, generated in {dataset.GenerationTime.TotalSeconds:F1} s; " +
            $"train {split.TrainClasses.Count} classes / {train.Count} images, validation {split.ValidationClasses.Count} / {validation.Count}, " +
            $"test {split.TestClasses.Count} / {test.Count} (never used for selection).");

        // 2. Teacher: a ResNet trained with a metric loss that spreads the embedding.
        var teacher = CreateTeacher();
        teacher.to(device);
        if (o.TeacherWeights is not null)
        {
            NetworkCheckpoint.Load(teacher, o.TeacherWeights);
            AnsiConsole.MarkupLine($"Teacher weights loaded from {Markup.Escape(o.TeacherWeights)} (not retrained).");
        }
        else
            Train("teacher", teacher, TrainingObjective.MetricOnly(MetricLoss(o.TeacherLoss, classMap.ClassCount)),
                train, validation, o.TeacherEpochs, o.TeacherLearningRate, checkpoints, loggerFactory, cancellationToken);

        // 3-4. Students: identical architecture, initialisation, batches, schedule and metric loss; only the
        //      distillation terms differ. The teacher sees the clean (un-augmented) view, so its embeddings are cached.
        var students = new List<(string Name, ModelRole Role, EmbeddingNetwork Network, double? Validation)>();
        foreach (var variant in (o.Baseline ? new[] { "baseline" } : []).Concat(o.Distill))
        {
            var student = CreateStudent();
            student.to(device);
            var metric = MetricLoss(o.StudentLoss, classMap.ClassCount);
            var objective = variant switch
            {
                "baseline" => TrainingObjective.MetricOnly(metric),
                "absolute" => TrainingObjective.Distillation(metric, teacher, new WeightedDistillationTerm(new AbsoluteTeacherLoss(), o.LambdaAbsolute)),
                "relative" => TrainingObjective.Distillation(metric, teacher, new WeightedDistillationTerm(new RelativeTeacherLoss(), o.LambdaRelative)),
                "rkd" => TrainingObjective.Distillation(metric, teacher,
                    new WeightedDistillationTerm(new RkdDistanceLoss(), o.LambdaRkdDistance),
                    new WeightedDistillationTerm(new RkdAngleLoss(), o.LambdaRkdAngle)),
                _ => throw new InvalidOperationException(variant),
            };
            string name = variant == "baseline" ? "student-baseline" : $"student-{variant}";
            Train(name, student, objective, train, validation, o.StudentEpochs, o.StudentLearningRate, checkpoints, loggerFactory, cancellationToken);
            students.Add((name, variant == "baseline" ? ModelRole.Baseline : ModelRole.Distilled, student, runs[^1].Result.BestMetric));
        }

        // 5. Evaluation on the held-out test classes, and cost.
        var results = new List<ModelResult> { Evaluate("teacher", ModelRole.Teacher, teacher, test, cancellationToken) };
        results.AddRange(students.Select(s => Evaluate(s.Name, s.Role, s.Network, test, cancellationToken)));

        // 6. Report.
        ResultsTable.Write(o.Report, results);
        Charts.TrainingCurves(Path.Combine(o.Report, "training-curves.png"), runs);
        Charts.RecallAtK(Path.Combine(o.Report, "recall-at-k.png"), results);
        PrintTable(results);
        PrintVerdict(results);

        // 7. Deploy the best distilled student (chosen on validation classes, not test): ONNX file, an index of the
        //    test images, and a grid of a few queries with their top results.
        var best = students.Where(s => s.Role == ModelRole.Distilled).OrderByDescending(s => s.Validation ?? double.MinValue).FirstOrDefault();
        if (best.Network is not null)
        {
            var onnx = OnnxExporter.Export(best.Network, Path.Combine(o.Report, "student.onnx"));
            using var index = EmbeddingIndex.Build(best.Network, test, cancellationToken: cancellationToken);
            index.Save(Path.Combine(o.Report, "student-test.edidx"));
            var (correct, hits) = RetrievalGrid.Write(Path.Combine(o.Report, "index-grid.png"), best.Network, index, test, dataset,
                queries: 6, k: 6, seed: o.Seed);
            AnsiConsole.MarkupLine($"Best distilled student by validation: {best.Name}; exported student.onnx (opset {onnx.Opset}, {onnx.Bytes:N0} bytes), " +
                $"indexed {index.Count} test images, index-grid.png: {correct} of {hits} results share the query's class.");
        }
        AnsiConsole.MarkupLine($"Report: {Markup.Escape(Path.GetFullPath(o.Report))} (results.csv, results.md, training-curves.png, recall-at-k.png, index-grid.png, student.onnx, checkpoints/). Total {total.Elapsed:mm\\:ss}.");
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

    private IMetricLoss MetricLoss(string name, int classes) => name switch
    {
        "proxy-anchor" => new ProxyAnchorLoss(classes, o.EmbeddingDim),
        "multi-similarity" => new MultiSimilarityLoss(),
        "triplet" => new TripletLoss(0.1, TripletMining.BatchHard),
        "contrastive" => new ContrastiveLoss(0, 0.5),
        _ => throw new ArgumentException($"Unknown metric loss '{name}' (use proxy-anchor, multi-similarity, triplet, contrastive)."),
    };

    private void Train(string name, EmbeddingNetwork network, TrainingObjective objective, IEmbeddingDataset train,
        IEmbeddingDataset validation, int epochs, double learningRate, string checkpoints, ILoggerFactory loggers, CancellationToken ct)
    {
        var folder = Path.Combine(checkpoints, name);
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        var sampler = new ClassBalancedSampler(train.Labels, new ClassBalancedSamplerOptions
        {
            ClassesPerBatch = o.ClassesPerBatch, ImagesPerClass = o.ImagesPerClassInBatch, Seed = o.Seed,
        });
        var data = new TrainingData { Train = train, Sampler = sampler, Validator = new RetrievalValidator(validation) };
        var options = new TrainingOptions
        {
            Epochs = epochs, Optimizer = OptimizerKind.AdamW, LearningRate = learningRate, WeightDecay = 1e-4,
            Schedule = LearningRateSchedule.Cosine, WarmupSteps = sampler.BatchesPerEpoch, Seed = o.Seed,
            LossParameterLearningRateMultiplier = 100, TeacherView = TeacherView.Clean, CheckpointDirectory = folder,
            LoggerFactory = loggers,
        };
        var result = ConsoleProgress.Run(name, progress => new Trainer().Fit(network, objective, data, options, progress, ct));
        ct.ThrowIfCancellationRequested();
        runs.Add((name, result));
        AnsiConsole.MarkupLine($"  {name}: {result.Steps} steps in {result.Elapsed:mm\\:ss} ({result.ImagesPerSecond:F0} img/s), best validation R@1 {result.BestMetric:P1} after epoch {result.BestEpoch}");
    }

    private ModelResult Evaluate(string name, ModelRole role, EmbeddingNetwork network, IEmbeddingDataset test, CancellationToken ct)
    {
        using var extracted = EmbeddingExtractor.Extract(network, test, cancellationToken: ct);
        var metrics = RetrievalMetrics.Evaluate(extracted.Embeddings, extracted.Labels, RecallPresets.Quickstart, cancellationToken: ct);
        var complexity = ModelComplexity.Measure(network, o.ImageSize, o.ImageSize);
        double latency = InferenceLatency.MillisecondsPerImage(network, o.ImageSize, batchSize: 1, iterations: o.Fast ? 10 : 30);
        return new ModelResult(name, role, metrics.RecallAtK, metrics.MapAtR, complexity.Parameters, complexity.Macs, latency);
    }

    private static void PrintTable(IReadOnlyList<ModelResult> results)
    {
        // Redirected output (CI logs) has no width: give the table room instead of wrapping every cell.
        if (Console.IsOutputRedirected) AnsiConsole.Profile.Width = 160;
        var table = new Table().Title("Test classes (never seen in training or selection)");
        foreach (var c in new[] { "model", "role", "R@1", "R@2", "R@4", "R@8", "MAP@R", "params", "MACs", "ms/img" }) table.AddColumn(c);
        foreach (var r in results)
            table.AddRow(r.Model, ResultsTable.RoleName(r.Role), P(r.RecallAtK[1]), P(r.RecallAtK[2]), P(r.RecallAtK[4]), P(r.RecallAtK[8]),
                P(r.MapAtR), r.Parameters.ToString("N0", CultureInfo.InvariantCulture), r.Macs.ToString("N0", CultureInfo.InvariantCulture),
                r.LatencyMs.ToString("F2", CultureInfo.InvariantCulture));
        AnsiConsole.Write(table);
        static string P(double v) => (100 * v).ToString("F1", CultureInfo.InvariantCulture);
    }

    private static void PrintVerdict(IReadOnlyList<ModelResult> results)
    {
        var teacher = results.First(r => r.Role == ModelRole.Teacher).RecallAtK[1];
        var baseline = results.FirstOrDefault(r => r.Role == ModelRole.Baseline)?.RecallAtK[1];
        if (baseline is null) return;
        foreach (var r in results.Where(r => r.Role == ModelRole.Distilled))
        {
            double gain = r.RecallAtK[1] - baseline.Value;
            double closed = teacher > baseline ? gain / (teacher - baseline.Value) : double.NaN;
            AnsiConsole.MarkupLine($"  {r.Model}: R@1 {100 * r.RecallAtK[1]:F1} vs baseline {100 * baseline:F1} ({(gain >= 0 ? "+" : "")}{100 * gain:F1} points; closes {closed:P0} of the teacher-baseline gap)");
        }
    }
}
