using System.Globalization;
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
/// ones), check every image once, pick the recipe (<see cref="PaperRunPlan"/>: the paper's hyperparameters, or the
/// scratch recipe without ImageNet weights), train the teacher with its metric loss (or load it), distil every student with
/// every method (baseline, absolute, relative, and optionally RKD, hint, attention; semi-supervised and
/// cross-quality variants), evaluate all of them with the dataset's Recall@K (plus MAP@R, parameters, MACs,
/// latency), and write the report folder. Every run lives in <c>REPORT/checkpoints/NAME</c> (<see cref="RunFolder"/>):
/// with <see cref="PaperPipelineOptions.Resume"/> a finished run is reloaded and an interrupted one continues.
/// </summary>
public sealed class PaperPipeline
{
    // The pipeline programs against the interface; any ITrainer can stand in.
    private static readonly ITrainer _trainer = new Trainer();

    /// <summary>Everything the pipeline writes into its report folder (what <c>--overwrite</c> deletes).</summary>
    internal static readonly SampleOutputs Outputs = new(
        ["results.csv", "results.md", "summary.txt", "teacher.weights", PaperReport.SkippedImagesFile, "training-loss.png", "recall-at-k.png"],
        ["checkpoints"]);

    private readonly PaperPipelineOptions _o;
    private readonly TextWriter _log;
    private readonly TrainingRunner _runner;
    private readonly PaperPreset _preset;
    private readonly PaperRunPlan _plan;
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
        _plan = PaperRunPlan.Resolve(options, _preset);
    }

    /// <summary>The dataset's preset.</summary>
    public PaperPreset Preset => _preset;

    /// <summary>The recipe and every effective setting (the recipe's, or the command line's where it gives one).</summary>
    public PaperRunPlan Plan => _plan;

    /// <summary>Crop size in use.</summary>
    public int ImageSize => _plan.ImageSize;

    /// <summary>The Recall@K cut-offs reported (the preset's).</summary>
    public IReadOnlyList<int> RecallKs => _preset.RecallKs;

    /// <summary>Checkpoints are written with <c>--checkpoints</c>, and always when resuming.</summary>
    private bool Checkpoints => _o.Checkpoints || _o.Resume;

    /// <summary>Runs everything and writes the report.</summary>
    /// <param name="cancellationToken">Stops after the current step (finished runs and checkpoints allow resuming).</param>
    /// <exception cref="Samples.CommandLine.UsageException">The report folder holds a run that neither <c>Resume</c> nor <c>Overwrite</c> allows touching, or one made with other settings.</exception>
    /// <exception cref="ImageDataException">An annotation or image file is missing or corrupt (found before any training).</exception>
    public PaperPipelineResult Run(CancellationToken cancellationToken = default)
    {
        if (!Directory.Exists(_o.Root))
            throw new DirectoryNotFoundException($"Dataset root '{_o.Root}' (--root) does not exist. See docs/paper.md for the download and folder layout.");
        foreach (var line in ReportFolder.Prepare(_o.Report, _o.RunSettings(), _o.Resume, _o.Overwrite, Outputs)) _log.WriteLine(line);
        if (_o.Resume && !_o.Checkpoints)
            _log.WriteLine("--resume implies --checkpoints: every run saves last.ckpt at each epoch end, so another interruption loses at most one epoch.");

        int size = ImageSize;
        bool smallStem = _plan.SmallStem;
        var recipe = _plan.Recipe;
        _log.WriteLine(_plan.Reason + ".");
        if (_plan.DefaultedSizes.Count > 0)
            _log.WriteLine($"Sizes from the {recipe.Name} recipe (none given on the command line): {string.Join(", ", _plan.DefaultedSizes)}.");
        var data = PaperData.Load(_o, _preset, _plan, _log, _warnings, cancellationToken);
        if (data.Unlabelled is not null)
            _log.WriteLine($"Semi-supervised: {data.Unlabelled.Count:N0} unlabelled images below {_o.Unlabelled}, {_o.UnlabelledRatio.ToString(CultureInfo.InvariantCulture)} unlabelled batch(es) per labelled batch in distillation runs.");
        if (_o.CrossQuality)
            _log.WriteLine($"Cross-quality: students train and are tested on images downscaled x{_o.LowQuality.DownscaleFactor.ToString(CultureInfo.InvariantCulture)}" +
                $"{(_o.LowQuality.JpegQuality is int q ? $" + JPEG q{q}" : "")}; the teacher sees the clean images.");

        var netOptions = new EmbeddingNetworkOptions { SmallInputStem = smallStem, BaseWidth = _plan.BaseWidth };
        if (recipe.Name == "paper") WarnIfFromScratch();
        var device = Devices.Pick(_o.Device);
        _log.WriteLine(Describe(device, data, smallStem));

        var runs = new List<PaperRun>();
        // Teacher: trained with the recipe's metric loss alone on the clean images (or loaded).
        torch.manual_seed(_o.Seed);
        var teacher = CreateTeacher(netOptions, smallStem);
        var (teacherTraining, teacherSteps) = TrainOrLoadTeacher(teacher, data, cancellationToken);
        teacher.Module.to(device);
        runs.Add(Evaluate($"teacher-{teacher.Name}", ModelRole.Teacher, teacher, data.TestClean, teacherTraining, teacherSteps, 0, cancellationToken));

        var students = _plan.Students;
        for (int j = 0; j < students.Count; j++)
        {
            foreach (var method in _o.Methods)
            {
                cancellationToken.ThrowIfCancellationRequested();
                torch.manual_seed(_o.Seed); // every method starts from the same student initialisation
                var student = EmbeddingNetworks.Create(students[j], _plan.EmbeddingDimension, netOptions);
                LoadImageNet(student, _o.StudentWeights is { } sw && j < sw.Count ? sw[j] : null, smallStem, "student");
                bool distils = method != "baseline";
                var (trainingData, classCount) = data.TrainingData(data.StudentTrain, distils ? data.Unlabelled : null);
                var (objective, description) = PaperObjectives.Student(method, _plan, classCount, _o.FeatureTaps, _o.HintWeight, _o.AttentionWeight, teacher, student);
                string name = $"{student.Name}-{method}";
                _log.WriteLine($"Student run {name}: {description}.");
                var (result, steps) = TrainOrReload(name, new RunFolder(RunPath(name)), student, objective, trainingData,
                    RunOptions(objective, _plan.StudentEpochs, _plan.StudentLearningRate, trainingData), cancellationToken);
                student.to(device);
                runs.Add(Evaluate(name, distils ? ModelRole.Distilled : ModelRole.Baseline, student, data.StudentTest, result, steps.Labelled, steps.Unlabelled, cancellationToken));
                student.Dispose();
            }
        }

        PaperReport.Write(_o, _preset, _plan, data, runs, _warnings, _log);
        return new PaperPipelineResult(_o.Report, data.Split, runs, _warnings);
    }

    private string RunPath(string name) => Path.Combine(_o.Report, "checkpoints", name.Replace(' ', '-'));

    /// <summary>One line with everything the recipe and the options set, for the log.</summary>
    private string Describe(torch.Device device, PaperData data, bool smallStem)
    {
        var r = _plan.Recipe;
        static string Rate(double v) => PaperRunPlan.Rate(v);
        string rates = _plan.TeacherLearningRate == _plan.StudentLearningRate
            ? $"lr {Rate(_plan.StudentLearningRate)}"
            : $"lr teacher {Rate(_plan.TeacherLearningRate)}, students {Rate(_plan.StudentLearningRate)}";
        string schedule = r.Schedule == LearningRateSchedule.Constant ? "constant rate" : $"{r.Schedule.ToString().ToLowerInvariant()} schedule{(r.WarmUpOneEpoch ? " after one epoch of linear warm-up" : "")}";
        int p = data.ClassesPerBatch(data.TeacherTrain);
        string batches = p == r.ClassesPerBatch ? $"{p} x {data.ImagesPerClass}" : $"{p} x {data.ImagesPerClass} (the recipe's P = {r.ClassesPerBatch}, but only {p} training classes)";
        string epoch = _o.BatchesPerEpoch is not null ? "--batches-per-epoch"
            : r.EpochLength == EpochLength.FullPass ? "a full pass over the training images" : "training classes / P, the original code's epoch";
        return $"Device {device}; crops {ImageSize} px (resize {data.ImageOptions.Transform.EffectiveResizeSize}){(smallStem ? ", small-input stems" : "")}; " +
            $"batches {batches}; {r.Optimizer} {rates}, weight decay {r.WeightDecay.ToString(CultureInfo.InvariantCulture)}, {schedule}; " +
            $"teacher {_plan.TeacherEpochs} epochs, students {_plan.StudentEpochs} epochs, of {data.BatchesPerEpoch(data.TeacherTrain)} batches ({epoch})" +
            $"{(_o.MaxSteps is int ms ? $", at most {ms} steps per run" : "")}; teacher loss {r.TeacherLoss}, students' loss {r.StudentLoss}" +
            $"{(r.TeacherView == TeacherView.Clean ? $"; the teacher sees the clean view of each image ({(_o.TeacherCache ? "its embeddings are cached" : "not cached: --no-teacher-cache")})" : "")}.";
    }

    /// <summary>
    /// The teacher network: the plan's architecture (with --teacher-weights' ImageNet backbone), or ML.NET's ImageNet
    /// ResNet-18, which takes the datasets' ImageNet-normalised RGB as they are (its adapter turns them into the CNTK
    /// network's BGR 0-255 input), keeps its standard stem, and sees the images at --teacher-image-size when given.
    /// </summary>
    private IEmbeddingNetwork CreateTeacher(EmbeddingNetworkOptions netOptions, bool smallStem)
    {
        if (_plan.Teacher != ImageNetTeacherOption.Name)
        {
            var network = EmbeddingNetworks.Create(_plan.Teacher, _plan.EmbeddingDimension, netOptions);
            LoadImageNet(network, _o.TeacherWeights, smallStem, "teacher");
            return network;
        }
        int dim = _o.FreezeTeacher ? ImageNetTeacherOption.FeatureDimension : _plan.EmbeddingDimension;
        IEmbeddingNetwork teacher = ImageNetResNet18.Load(dim, new ImageNetResNet18Options { ModelPath = _o.ImageNetModel });
        if (_o.TeacherImageSize is int size && size != ImageSize) teacher = new ResizedInputNetwork(teacher, size, size);
        _log.WriteLine($"teacher {teacher.Name}: ImageNet ResNet-18 of {ImageNetResNet18.PackageId} {ImageNetResNet18.PackageVersion} " +
            $"({_o.ImageNetModel ?? ImageNetResNet18.FindModelFile()}), standard stem, seeing the images at {_o.TeacherImageSize ?? ImageSize} px; " +
            (_o.FreezeTeacher ? $"frozen: its embedding is the L2-normalised pooled {dim}-d ImageNet feature." : $"a new {dim}-d head, fine-tuned as the teacher."));
        return teacher;
    }

    /// <summary>
    /// The teacher: frozen (--freeze-teacher with imagenet-resnet18: never trained), reloaded when an earlier session
    /// finished it, loaded from --teacher-checkpoint when that exists, else trained.
    /// </summary>
    private (TrainingResult? Training, int LabelledSteps) TrainOrLoadTeacher(IEmbeddingNetwork teacher, PaperData data, CancellationToken ct)
    {
        if (_o.FreezeTeacher && _plan.Teacher == ImageNetTeacherOption.Name)
        {
            _log.WriteLine($"Teacher {teacher.Name}: frozen (--freeze-teacher), not trained.");
            return (null, 0);
        }
        string teacherFile = _o.TeacherCheckpoint ?? Path.Combine(_o.Report, "teacher.weights");
        var folder = new RunFolder(RunPath("teacher"), teacherFile);
        if (!folder.IsFinished && _o.TeacherCheckpoint is not null && File.Exists(_o.TeacherCheckpoint))
        {
            NetworkCheckpoint.Load(teacher, _o.TeacherCheckpoint);
            _log.WriteLine($"Teacher {teacher.Name}: loaded trained weights from {_o.TeacherCheckpoint} (training skipped).");
            return (null, 0);
        }
        var (trainingData, classCount) = data.TrainingData(data.TeacherTrain, null);
        var objective = PaperObjectives.Teacher(_plan, classCount);
        var (result, steps) = TrainOrReload($"teacher {teacher.Name}", folder, teacher, objective, trainingData,
            RunOptions(objective, _plan.TeacherEpochs, _plan.TeacherLearningRate, trainingData), ct);
        _log.WriteLine($"Teacher weights in {teacherFile}.");
        return (result, steps.Labelled);
    }

    /// <summary>
    /// The training options of one run from the recipe. Runs whose terms read feature maps (hint, attention) give the
    /// teacher the student's crop whatever the recipe says, so that both maps show the same pixels. The recipe's rate
    /// multiplier of the losses' parameters applies when the metric loss has some (proxy-anchor's proxies; the
    /// trainer's one group of loss parameters then holds a hint regressor too), else they learn at the rate.
    /// </summary>
    private TrainingOptions RunOptions(TrainingObjective objective, int epochs, double learningRate, TrainingData data)
    {
        var r = _plan.Recipe;
        return new TrainingOptions
        {
            Epochs = epochs,
            MaxSteps = _o.MaxSteps,
            Optimizer = r.Optimizer,
            LearningRate = learningRate,
            WeightDecay = r.WeightDecay,
            Schedule = r.Schedule,
            WarmupSteps = r.WarmUpOneEpoch ? data.Sampler.BatchesPerEpoch : 0,
            LossParameterLearningRateMultiplier = objective.MetricLoss?.LearnableParameters().Any() == true ? r.ProxyLearningRateMultiplier : 1,
            TeacherView = objective.DistillationTerms.Any(t => t.Loss.TeacherTaps.Count > 0) ? TeacherView.SameAsStudent : r.TeacherView,
            CacheTeacherOutputs = _o.TeacherCache,
            Seed = _o.Seed,
            Device = _o.Device,
            ValidateEveryEpochs = Math.Max(1, epochs / 20),
            Resume = _o.Resume,
        };
    }

    /// <summary>Trains one run in its folder and records it as finished, or reloads it when an earlier session finished it.</summary>
    private (TrainingResult Result, (int Labelled, int Unlabelled) Steps) TrainOrReload(string title, RunFolder folder, IEmbeddingNetwork network,
        TrainingObjective objective, TrainingData data, TrainingOptions options, CancellationToken cancellationToken)
    {
        if (folder.IsFinished)
        {
            var done = folder.LoadFinished(network, out var counters);
            _log.WriteLine($"  {title}: finished in an earlier session, reloaded from {folder.Path} (not retrained).");
            return (done, (counters.GetValueOrDefault("labelled"), counters.GetValueOrDefault("unlabelled")));
        }
        options = options with { CheckpointDirectory = Checkpoints ? folder.Path : null };
        var counter = new StepCounter();
        var result = _runner(title, outer => _trainer.Fit(network, objective, data, options, counter.Wrap(outer), cancellationToken));
        _log.WriteLine($"  {title}: {result.Steps} steps ({counter.Labelled} labelled{(counter.Unlabelled > 0 ? $" + {counter.Unlabelled} unlabelled" : "")}) in {result.Elapsed.TotalSeconds:F1} s, " +
            $"{result.ImagesPerSecond.ToString("F1", CultureInfo.InvariantCulture)} training images/s{(result.Resumed ? " (resumed from its checkpoint)" : "")}.");
        if (result.Cancelled)
            throw new OperationCanceledException(Checkpoints
                ? $"Training of {title} stopped after step {result.Steps}; its checkpoint is in {folder.Path}."
                : $"Training of {title} stopped after step {result.Steps}, without a checkpoint (no --checkpoints): a resume trains it again from the start.");
        folder.MarkFinished(network, result, $"{title}: {options.Epochs} epochs",
            new Dictionary<string, int> { ["labelled"] = counter.Labelled, ["unlabelled"] = counter.Unlabelled });
        return (result, (counter.Labelled, counter.Unlabelled));
    }

    private PaperRun Evaluate(string name, ModelRole role, IEmbeddingNetwork network, ImageDataset test, TrainingResult? training,
        int labelledSteps, int unlabelledSteps, CancellationToken cancellationToken)
    {
        var ks = _preset.RecallKs.Concat(ResultsTable.CsvRecallKs).Distinct().Order().ToArray();
        RetrievalResult retrieval;
        using (var extracted = EmbeddingExtractor.Extract(network, test, _o.EvaluationBatchSize, cancellationToken))
        {
            retrieval = _o.SopQueries is int q
                ? SubsetRetrieval.Evaluate(extracted.Embeddings, extracted.Labels, q, ks, _o.Seed, cancellationToken)
                : RetrievalMetrics.Evaluate(extracted.Embeddings, extracted.Labels, ks, cancellationToken: cancellationToken);
            if (CollapseWarnings.Check(name, training, extracted.Embeddings, extracted.Labels, retrieval.RecallAtK[1]) is { } warning)
            {
                _warnings.Add(warning);
                _log.WriteLine(warning);
            }
        }
        var complexity = ModelComplexity.Measure(network, ImageSize, ImageSize);
        double latency = InferenceLatency.MillisecondsPerImage(network, ImageSize, 1, _o.LatencyIterations, warmup: 2);
        var row = new ModelResult(name, role, retrieval.RecallAtK, retrieval.MapAtR, complexity.Parameters, complexity.Macs, latency);
        _log.WriteLine($"  {name} on {test.Name} ({retrieval.QueryCount:N0} queries): " +
            string.Join(", ", _preset.RecallKs.Select(k => $"R@{k} {(100 * retrieval.RecallAtK[k]).ToString("F1", CultureInfo.InvariantCulture)}")) +
            $", MAP@R {(100 * retrieval.MapAtR).ToString("F1", CultureInfo.InvariantCulture)}");
        return new PaperRun(name, training, labelledSteps, unlabelledSteps, row, test.Name);
    }

    private void LoadImageNet(IEmbeddingNetwork network, string? path, bool smallStem, string role)
    {
        if (path is null) return;
        // A small-input stem changes conv1's shape: load everything else.
        var result = PretrainedWeights.LoadBackbone(network, path, smallStem ? new WeightsLoadOptions { Strict = false } : null);
        _log.WriteLine($"{role} {network.Name}: ImageNet weights from {path}" + (smallStem ? $" (small stem: {result.Mismatched.Count} mis-shaped tensor(s) left at their initialisation)" : "") + ".");
    }

    /// <summary>The paper's recipe on networks without ImageNet weights: the warning it has always printed.</summary>
    private void WarnIfFromScratch()
    {
        var missing = _plan.WithoutImageNetWeights.Where(n => n != "teacher" || !(_o.TeacherCheckpoint is not null && File.Exists(_o.TeacherCheckpoint))).ToArray();
        if (missing.Length == 0) return;
        string w = $"WARNING: no ImageNet weights for {string.Join(", ", missing)}: training from scratch (the paper's numbers need pretrained backbones; " +
            "its recipe collapses from scratch: use --recipe scratch; see docs/paper.md).";
        _warnings.Add(w);
        _log.WriteLine(w);
    }

    /// <summary>Counts labelled and unlabelled steps from the trainer's progress.</summary>
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
                    if (value.Labelled) counter.Labelled++;
                    else counter.Unlabelled++;
                }
                outer?.Report(value);
            }
        }
    }
}
