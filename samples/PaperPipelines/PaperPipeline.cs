using System.Globalization;
using System.Text;
using EmbeddingDistillation.Data;
using EmbeddingDistillation.Evaluation;
using EmbeddingDistillation.Losses;
using EmbeddingDistillation.Networks;
using EmbeddingDistillation.Samples.Runs;
using EmbeddingDistillation.Training;
using EmbeddingDistillation.Vision;
using TorchSharp;

namespace EmbeddingDistillation.Samples.PaperPipelines;

/// <summary>
/// The paper's experiment end to end on a real dataset: read and split it (paper counts printed beside the real
/// ones), train the teacher with the triplet loss (or load it), distil every student with every method (baseline,
/// absolute, relative, and optionally RKD, hint, attention; semi-supervised and cross-quality variants), evaluate
/// all of them with the dataset's Recall@K (plus MAP@R, parameters, MACs, latency), and write the report folder
/// (results.csv in the shared format, results.md, summary.txt).
/// </summary>
public sealed class PaperPipeline
{
    private readonly PaperPipelineOptions _o;
    private readonly TextWriter _log;
    private readonly TrainingRunner _runner;
    private readonly PaperPreset _preset;
    private readonly List<string> _warnings = [];

    /// <summary>Creates the pipeline.</summary>
    /// <param name="options">The options.</param>
    /// <param name="log">Where progress lines go (default: none).</param>
    /// <param name="runner">Wraps each training run (e.g. a progress bar); default: runs it without progress.</param>
    public PaperPipeline(PaperPipelineOptions options, TextWriter? log = null, TrainingRunner? runner = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _o = options;
        _log = log ?? TextWriter.Null;
        _runner = runner ?? ((_, train) => train(null));
        _preset = PaperPreset.For(options.Dataset);
    }

    /// <summary>The dataset's preset.</summary>
    public PaperPreset Preset => _preset;

    /// <summary>Crop size in use.</summary>
    public int ImageSize => _o.ImageSize ?? _preset.ImageSize;

    /// <summary>The Recall@K cut-offs reported (the preset's).</summary>
    public IReadOnlyList<int> RecallKs => _preset.RecallKs;

    /// <summary>Runs everything and writes the report.</summary>
    /// <param name="cancellationToken">Stops after the current step (checkpoints allow resuming).</param>
    public PaperPipelineResult Run(CancellationToken cancellationToken = default)
    {
        int size = ImageSize;
        bool smallStem = _o.SmallStem ?? size <= 64;
        int dim = _o.EmbeddingDimension ?? _preset.EmbeddingDimension;
        string teacherName = _o.Teacher ?? _preset.Teacher;
        var students = _o.Students ?? _preset.Students;
        int epochs = _o.Epochs ?? _preset.Epochs;
        var split = Restrict(ReadSplit());
        Directory.CreateDirectory(_o.Report);
        _log.WriteLine(split.Summary());
        if (_o.MaxClasses is not null || _o.MaxImagesPerClass is not null)
            _log.WriteLine($"Smoke-run restriction: at most {_o.MaxClasses?.ToString(CultureInfo.InvariantCulture) ?? "all"} classes per part, {_o.MaxImagesPerClass?.ToString(CultureInfo.InvariantCulture) ?? "all"} images per class (counts above are after it).");

        var imageOptions = new ImageDatasetOptions { Transform = new ImageTransformOptions { ImageSize = size } };
        var teacherTrain = ImageDataset.FromSplit(split, split.Train, imageOptions);
        var testClean = ImageDataset.FromSplit(split, split.Test, imageOptions);
        ImageDataset studentTrain = _o.CrossQuality
            ? new CrossQualityDataset(split.Layout, split.Train.Records, _o.LowQuality, imageOptions, $"{split.Layout.Name} train (cross-quality)")
            : teacherTrain;
        var studentTest = _o.CrossQuality
            ? new ImageDataset(split.Layout, split.Test.Records, imageOptions with { LowQuality = _o.LowQuality }, $"{split.Layout.Name} test (low quality)")
            : testClean;
        ImageDataset? unlabelled = _o.Unlabelled is null ? null
            : UnlabelledImageFolder.Open(_o.Unlabelled, imageOptions, _o.CrossQuality ? _o.LowQuality : null);
        if (unlabelled is not null)
            _log.WriteLine($"Semi-supervised: {unlabelled.Count:N0} unlabelled images below {_o.Unlabelled}, {_o.UnlabelledRatio.ToString(CultureInfo.InvariantCulture)} unlabelled batch(es) per labelled batch in distillation runs.");
        if (_o.CrossQuality)
            _log.WriteLine($"Cross-quality: students train and are tested on images downscaled x{_o.LowQuality.DownscaleFactor.ToString(CultureInfo.InvariantCulture)}" +
                $"{(_o.LowQuality.JpegQuality is int q ? $" + JPEG q{q}" : "")}; the teacher sees the clean images.");

        var netOptions = new EmbeddingNetworkOptions { SmallInputStem = smallStem, BaseWidth = _o.BaseWidth };
        WarnIfFromScratch(students);

        var device = Devices.Pick(_o.Device);
        _log.WriteLine($"Device {device}; crops {size} px (resize {imageOptions.Transform.EffectiveResizeSize}){(smallStem ? ", small-input stems" : "")}; " +
            $"batches {_preset.ClassesPerBatch} x {_preset.ImagesPerClass}; Adam lr {Lr.ToString("G3", CultureInfo.InvariantCulture)}, weight decay {_preset.WeightDecay.ToString(CultureInfo.InvariantCulture)}; " +
            $"{epochs} epochs x {BatchesPerEpoch(teacherTrain)} batches{(_o.MaxSteps is int ms ? $" (at most {ms} steps per run)" : "")}.");

        var runs = new List<PaperRun>();
        // Teacher: trained with the triplet loss alone on the clean images (or loaded).
        torch.manual_seed(_o.Seed);
        var teacher = EmbeddingNetworks.Create(teacherName, dim, netOptions);
        LoadImageNet(teacher, _o.TeacherWeights, smallStem, "teacher");
        string teacherFile = _o.TeacherCheckpoint ?? Path.Combine(_o.Report, "teacher.weights");
        TrainingResult? teacherTraining = null;
        int teacherSteps = 0;
        if (_o.TeacherCheckpoint is not null && File.Exists(_o.TeacherCheckpoint))
        {
            NetworkCheckpoint.Load(teacher, _o.TeacherCheckpoint);
            _log.WriteLine($"Teacher {teacher.Name}: loaded trained weights from {_o.TeacherCheckpoint} (training skipped).");
        }
        else
        {
            var data = Data(teacherTrain, null, split);
            var counter = new StepCounter();
            teacherTraining = Train($"teacher {teacher.Name}", teacher, TrainingObjective.MetricOnly(new TripletLoss()), data,
                _o.TeacherEpochs ?? epochs, "teacher", counter, cancellationToken);
            teacherSteps = counter.Labelled;
            NetworkCheckpoint.Save(teacher, teacherFile);
            _log.WriteLine($"Teacher weights saved to {teacherFile}.");
        }
        teacher.to(device);
        runs.Add(Evaluate($"teacher-{teacher.Name}", ModelRole.Teacher, teacher, testClean, teacherTraining, teacherSteps, 0, cancellationToken));

        for (int j = 0; j < students.Count; j++)
        {
            foreach (var method in _o.Methods)
            {
                cancellationToken.ThrowIfCancellationRequested();
                torch.manual_seed(_o.Seed); // every method starts from the same student initialisation
                var student = EmbeddingNetworks.Create(students[j], dim, netOptions);
                LoadImageNet(student, _o.StudentWeights is { } sw && j < sw.Count ? sw[j] : null, smallStem, "student");
                var (objective, description) = Objective(method, teacher, student);
                bool distils = objective.DistillationTerms.Count > 0;
                var data = Data(studentTrain, distils ? unlabelled : null, split);
                string name = $"{student.Name}-{method}";
                _log.WriteLine($"Student run {name}: {description}.");
                var counter = new StepCounter();
                var result = Train(name, student, objective, data, epochs, name, counter, cancellationToken);
                student.to(device);
                runs.Add(Evaluate(name, distils ? ModelRole.Distilled : ModelRole.Baseline, student, studentTest, result, counter.Labelled, counter.Unlabelled, cancellationToken));
                student.Dispose();
            }
        }

        WriteReport(split, runs);
        return new PaperPipelineResult(_o.Report, split, runs, _warnings);
    }

    private double Lr => _o.LearningRate ?? _preset.LearningRate;

    private DatasetSplit ReadSplit()
    {
        if (!Directory.Exists(_o.Root))
            throw new DirectoryNotFoundException($"Dataset root '{_o.Root}' (--root) does not exist. See docs/paper.md for the download and folder layout.");
        switch (_o.Dataset)
        {
            case PaperDataset.Cub:
                return PaperSplits.Cub(Cub200.Read(_o.Root), _o.ValidationFraction);
            case PaperDataset.Cars:
                var layout = File.Exists(Path.Combine(_o.Root, "cars_annos.mat")) || !Directory.Exists(Path.Combine(_o.Root, "train"))
                    ? Cars196.Read(_o.Root)
                    : Cars196.ReadClassFolders(_o.Root);
                return PaperSplits.Cars(layout, _o.ValidationFraction);
            default:
                return PaperSplits.Sop(StanfordOnlineProducts.Read(_o.Root), _o.ValidationFraction);
        }
    }

    /// <summary>Keeps the first classes of each part and the first images of each class (smoke runs).</summary>
    private DatasetSplit Restrict(DatasetSplit split)
    {
        if (_o.MaxClasses is null && _o.MaxImagesPerClass is null) return split;
        SplitPart Limit(SplitPart part)
        {
            var keep = part.Records.Select(r => r.ClassId).Distinct().Order().Take(_o.MaxClasses ?? int.MaxValue).ToHashSet();
            var records = part.Records.Where(r => keep.Contains(r.ClassId)).GroupBy(r => r.ClassId)
                .SelectMany(g => g.Take(_o.MaxImagesPerClass ?? int.MaxValue)).ToArray();
            return part with { Records = records };
        }
        return split with { Train = Limit(split.Train), Validation = Limit(split.Validation), Test = Limit(split.Test) };
    }

    private int BatchesPerEpoch(IEmbeddingDataset train) =>
        _o.BatchesPerEpoch ?? Math.Max(1, train.Labels.Distinct().Count() / _preset.ClassesPerBatch);

    private TrainingData Data(ImageDataset train, ImageDataset? unlabelled, DatasetSplit split)
    {
        var sampler = new ClassBalancedSampler(train.Labels, new ClassBalancedSamplerOptions
        {
            ClassesPerBatch = _preset.ClassesPerBatch, ImagesPerClass = _preset.ImagesPerClass,
            BatchesPerEpoch = BatchesPerEpoch(train), Seed = _o.Seed,
        });
        int batch = _preset.ClassesPerBatch * _preset.ImagesPerClass;
        IValidator? validator = null;
        if (split.Validation.Records.Count >= 2)
        {
            var val = train is CrossQualityDataset
                ? new ImageDataset(split.Layout, split.Validation.Records, train.Options with { LowQuality = _o.LowQuality }, $"{split.Layout.Name} validation")
                : ImageDataset.FromSplit(split, split.Validation, train.Options);
            validator = new RetrievalValidator(val, _preset.RecallKs, _o.EvaluationBatchSize);
        }
        return new TrainingData
        {
            Train = train,
            Sampler = sampler,
            Unlabelled = unlabelled,
            UnlabelledSampler = unlabelled is null ? null
                : new BatchSampler(unlabelled.Count, Math.Min(batch, unlabelled.Count), shuffle: true, dropLast: true, seed: _o.Seed),
            UnlabelledRatio = _o.UnlabelledRatio,
            Validator = validator,
        };
    }

    private TrainingResult Train(string title, EmbeddingNetwork network, TrainingObjective objective, TrainingData data, int epochs,
        string runFolder, StepCounter counter, CancellationToken cancellationToken)
    {
        var options = new TrainingOptions
        {
            Epochs = epochs,
            MaxSteps = _o.MaxSteps,
            LearningRate = Lr,
            WeightDecay = _preset.WeightDecay,
            Seed = _o.Seed,
            Device = _o.Device,
            ValidateEveryEpochs = Math.Max(1, epochs / 20),
            CheckpointDirectory = _o.Checkpoints ? Path.Combine(_o.Report, "checkpoints", runFolder.Replace(' ', '-')) : null,
        };
        var trainer = new Trainer();
        var result = _runner(title, outer => trainer.Fit(network, objective, data, options, counter.Wrap(outer), cancellationToken));
        _log.WriteLine($"  {title}: {result.Steps} steps ({counter.Labelled} labelled{(counter.Unlabelled > 0 ? $" + {counter.Unlabelled} unlabelled" : "")}) in {result.Elapsed.TotalSeconds:F1} s, " +
            $"{result.ImagesPerSecond.ToString("F1", CultureInfo.InvariantCulture)} training images/s{(result.Resumed ? " (resumed from its checkpoint)" : "")}.");
        if (result.Cancelled) throw new OperationCanceledException($"Training of {title} was cancelled; with --checkpoints, re-running the same command resumes it.");
        return result;
    }

    private (TrainingObjective Objective, string Description) Objective(string method, EmbeddingNetwork teacher, EmbeddingNetwork student)
    {
        if (method == "baseline") return (TrainingObjective.MetricOnly(new TripletLoss()), "triplet loss alone (baseline)");
        var terms = new List<WeightedDistillationTerm>();
        var parts = new List<string> { "triplet" };
        FeatureTapPair? taps = null;
        FeatureTapPair Taps() => taps ??= FeatureTapPair.Select(teacher, student, _o.FeatureTaps);
        void Add(IDistillationLoss loss, double weight, string what)
        {
            terms.Add(new WeightedDistillationTerm(loss, weight));
            parts.Add($"{weight.ToString("G4", CultureInfo.InvariantCulture)} * {what}");
        }
        foreach (var term in method.Split('+'))
        {
            switch (term)
            {
                case "absolute": Add(new AbsoluteTeacherLoss(), _o.AbsoluteWeight ?? _preset.AbsoluteWeight, "absolute"); break;
                case "relative": Add(new RelativeTeacherLoss(), _o.RelativeWeight ?? _preset.RelativeWeight, "relative"); break;
                case "rkd":
                    Add(new RkdDistanceLoss(), _o.RkdWeights.Distance, "rkd-distance");
                    Add(new RkdAngleLoss(), _o.RkdWeights.Angle, "rkd-angle");
                    break;
                case "hint":
                    var h = Taps();
                    Add(new HintLoss(h.Student.Channels, h.Teacher.Channels, new HintLossOptions { StudentTap = h.Student.Name, TeacherTap = h.Teacher.Name }),
                        _o.HintWeight, $"hint[{h}]");
                    break;
                case "attention":
                    var a = Taps();
                    Add(new AttentionTransferLoss(new AttentionTapPair(a.Student.Name, a.Teacher.Name)), _o.AttentionWeight, $"attention[{a}]");
                    break;
                default:
                    throw new ArgumentException($"Unknown distillation term '{term}' in method '{method}'; known: {string.Join(", ", PaperPipelineArguments.Terms)}.");
            }
        }
        return (TrainingObjective.Distillation(new TripletLoss(), teacher, terms.ToArray()), string.Join(" + ", parts));
    }

    private PaperRun Evaluate(string name, ModelRole role, EmbeddingNetwork network, ImageDataset test, TrainingResult? training,
        int labelledSteps, int unlabelledSteps, CancellationToken cancellationToken)
    {
        var ks = _preset.RecallKs.Concat(ResultsTable.CsvRecallKs).Distinct().Order().ToArray();
        RetrievalResult retrieval;
        using (var extracted = EmbeddingExtractor.Extract(network, test, _o.EvaluationBatchSize, cancellationToken))
        {
            retrieval = _o.SopQueries is int q
                ? SubsetRetrieval.Evaluate(extracted.Embeddings, extracted.Labels, q, ks, _o.Seed, cancellationToken)
                : RetrievalMetrics.Evaluate(extracted.Embeddings, extracted.Labels, ks, cancellationToken: cancellationToken);
        }
        var complexity = ModelComplexity.Measure(network, ImageSize, ImageSize);
        double latency = InferenceLatency.MillisecondsPerImage(network, ImageSize, 1, _o.LatencyIterations, warmup: 2);
        var row = new ModelResult(name, role, retrieval.RecallAtK, retrieval.MapAtR, complexity.Parameters, complexity.Macs, latency);
        _log.WriteLine($"  {name} on {test.Name} ({retrieval.QueryCount:N0} queries): " +
            string.Join(", ", _preset.RecallKs.Select(k => $"R@{k} {(100 * retrieval.RecallAtK[k]).ToString("F1", CultureInfo.InvariantCulture)}")) +
            $", MAP@R {(100 * retrieval.MapAtR).ToString("F1", CultureInfo.InvariantCulture)}");
        return new PaperRun(name, training, labelledSteps, unlabelledSteps, row, test.Name);
    }

    private void LoadImageNet(EmbeddingNetwork network, string? path, bool smallStem, string role)
    {
        if (path is null) return;
        // A small-input stem changes conv1's shape: load everything else.
        var result = PretrainedWeights.LoadBackbone(network, path, smallStem ? new WeightsLoadOptions { Strict = false } : null);
        _log.WriteLine($"{role} {network.Name}: ImageNet weights from {path}" + (smallStem ? $" (small stem: {result.Mismatched.Count} mis-shaped tensor(s) left at their initialisation)" : "") + ".");
    }

    private void WarnIfFromScratch(IReadOnlyList<string> students)
    {
        var missing = new List<string>();
        if (_o.TeacherWeights is null && !(_o.TeacherCheckpoint is not null && File.Exists(_o.TeacherCheckpoint))) missing.Add("teacher");
        for (int j = 0; j < students.Count; j++)
            if (_o.StudentWeights is not { } sw || j >= sw.Count || sw[j] is null) missing.Add(students[j]);
        if (missing.Count == 0) return;
        string w = $"WARNING: no ImageNet weights for {string.Join(", ", missing)}: training from scratch (the paper's numbers need pretrained backbones; see docs/paper.md).";
        _warnings.Add(w);
        _log.WriteLine(w);
    }

    private void WriteReport(DatasetSplit split, IReadOnlyList<PaperRun> runs)
    {
        var results = runs.Select(r => r.Result).ToArray();
        ResultsTable.Write(_o.Report, results);
        var ks = _preset.RecallKs;
        var md = new StringBuilder();
        md.AppendLine($"# {_preset.DisplayName}: distillation report").AppendLine();
        md.AppendLine($"Test classes: {split.Test.ClassCount:N0}, test images: {split.Test.Records.Count:N0}; crops {ImageSize} px; " +
            $"Recall@K over {(_o.SopQueries is int q ? $"{q:N0} random queries against the full test gallery" : "every test image as a query")}, self-match excluded.");
        if (_o.CrossQuality) md.AppendLine("Cross-quality: the teacher is evaluated on clean test images, the students on degraded ones.");
        foreach (var w in _warnings) md.AppendLine().AppendLine($"> {w}");
        md.AppendLine().Append(ResultsTable.ToMarkdown(results, ks)).AppendLine();
        md.AppendLine("| run | steps | labelled | unlabelled | training images/s | training time (s) |").AppendLine("|---|---:|---:|---:|---:|---:|");
        foreach (var r in runs)
            md.AppendLine(r.Training is null
                ? $"| {r.Name} | loaded | - | - | - | - |"
                : $"| {r.Name} | {r.Training.Steps} | {r.LabelledSteps} | {r.UnlabelledSteps} | {r.Training.ImagesPerSecond.ToString("F1", CultureInfo.InvariantCulture)} | {r.Training.Elapsed.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture)} |");
        File.WriteAllText(Path.Combine(_o.Report, "results.md"), md.ToString());
        File.WriteAllText(Path.Combine(_o.Report, "summary.txt"), split.Summary());
        _log.WriteLine($"Report written to {Path.GetFullPath(_o.Report)} (results.csv, results.md, summary.txt).");
    }

    /// <summary>Counts labelled and unlabelled steps from the trainer's progress (an unlabelled batch has no metric term).</summary>
    private sealed class StepCounter
    {
        public int Labelled;
        public int Unlabelled;

        public IProgress<TrainingProgress> Wrap(IProgress<TrainingProgress>? outer) => new Sink(this, outer);

        private sealed class Sink(StepCounter counter, IProgress<TrainingProgress>? outer) : IProgress<TrainingProgress>
        {
            public void Report(TrainingProgress value)
            {
                if (value.Validation is null)
                {
                    if (value.Terms.ContainsKey("triplet")) counter.Labelled++;
                    else counter.Unlabelled++;
                }
                outer?.Report(value);
            }
        }
    }
}
