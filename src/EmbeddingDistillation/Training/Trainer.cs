using System.Diagnostics;
using System.Globalization;
using EmbeddingDistillation.Data;
using EmbeddingDistillation.Networks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Training;

/// <summary>
/// The library's <see cref="ITrainer"/>: one optimisation step per batch, every step's tensors in a dispose scope,
/// a frozen teacher (eval mode, no gradient), validation with best-checkpoint selection and early stopping, atomic
/// checkpoints that resume exactly (all randomness derives from the seed, the epoch and the step), and
/// cancellation after the current step.
/// </summary>
public sealed class Trainer : ITrainer
{
    /// <summary>File name of the resumable checkpoint in the checkpoint folder.</summary>
    public const string LastCheckpointFile = "last.ckpt";

    /// <summary>File name of the best network weights (TorchSharp format) in the checkpoint folder.</summary>
    public const string BestWeightsFile = "best.weights";

    /// <inheritdoc />
    public TrainingResult Fit(
        IEmbeddingNetwork network,
        TrainingObjective objective,
        TrainingData data,
        TrainingOptions options,
        IProgress<TrainingProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(objective);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        ValidateData(data, objective);
        if (ReferenceEquals(objective.Teacher, network))
            throw new ArgumentException("The teacher and the trained network must be different networks.", nameof(objective));

        var logger = options.LoggerFactory?.CreateLogger<Trainer>() ?? (ILogger)NullLogger.Instance;
        var device = options.Device is null ? Devices.Of(network.Module) : Devices.Pick(options.Device);
        network.Module.to(device);
        var lossModules = LossModules(objective);
        foreach (var m in lossModules) m.to(device);
        var teacher = objective.Teacher;
        if (teacher is not null)
        {
            teacher.Module.to(device);
            teacher.Module.eval();
            foreach (var p in teacher.Module.parameters()) p.requires_grad = false;
        }

        torch.manual_seed(options.Seed);
        var groups = ParameterGroups(network, objective, options);
        using var optimizer = Optimizers.Create(options, groups);

        var schedule = new BatchSchedule(data);
        int stepsPerEpoch = schedule.StepsPerEpoch;
        int totalSteps = Math.Min(options.Epochs * stepsPerEpoch, options.MaxSteps ?? int.MaxValue);

        var state = new RunState { Seed = options.Seed };
        bool resumed = false;
        string? lastPath = options.CheckpointDirectory is null ? null : Path.Combine(options.CheckpointDirectory, LastCheckpointFile);
        string? bestPath = options.CheckpointDirectory is null ? null : Path.Combine(options.CheckpointDirectory, BestWeightsFile);
        if (lastPath is not null && options.Resume && File.Exists(lastPath))
        {
            state = Checkpoints.Load(lastPath, network.Module, optimizer, lossModules);
            if (state.Seed != options.Seed)
                throw new InvalidOperationException($"Checkpoint '{lastPath}' was written by a run with seed {state.Seed}, not {options.Seed}; use another checkpoint folder or the same seed.");
            resumed = true;
            TrainerLog.Resumed(logger, lastPath, state.Epoch, state.GlobalStep);
        }

        TrainerLog.Started(logger, network.Name, options.Epochs, totalSteps, device.ToString(), Describe(objective));

        bool useCache = teacher is not null && options.TeacherView == TeacherView.Clean && options.CacheTeacherOutputs
            && objective.TeacherTaps.Count == 0;
        using var cache = useCache ? new TeacherEmbeddingCache(data.Train.Count) : null;
        using var unlabelledCache = useCache && data.Unlabelled is not null ? new TeacherEmbeddingCache(data.Unlabelled.Count) : null;

        var clock = Stopwatch.StartNew();
        long imagesThisSession = 0;
        int stepsThisSession = 0;
        bool cancelled = false;
        var studentTaps = objective.StudentTaps;
        var teacherTaps = objective.TeacherTaps;

        network.Module.train();
        while (state.Epoch < options.Epochs && state.GlobalStep < totalSteps && !state.StoppedEarly)
        {
            var steps = schedule.Epoch(state.Epoch);
            while (state.StepInEpoch < steps.Count && state.GlobalStep < totalSteps)
            {
                if (cancellationToken.IsCancellationRequested) { cancelled = true; break; }
                var (isUnlabelled, indices) = steps[state.StepInEpoch];
                var dataset = isUnlabelled ? data.Unlabelled! : data.Train;
                int seed = StepSeed(options.Seed, state.Epoch, state.StepInEpoch);
                double factor = LearningRates.Factor(options, state.GlobalStep, totalSteps, stepsPerEpoch);
                Optimizers.SetLearningRates(optimizer, groups, options.LearningRate, factor);

                var (loss, terms) = Step(network, objective, teacher, dataset, indices, seed, data.Augment, options, device,
                    isUnlabelled ? unlabelledCache : cache, studentTaps, teacherTaps, optimizer, groups, state.GlobalStep);

                state.StepInEpoch++;
                state.GlobalStep++;
                state.EpochLossSum += loss;
                state.EpochStepsCounted++;
                foreach (var (name, value) in terms)
                    state.EpochTermSums[name] = state.EpochTermSums.GetValueOrDefault(name) + value;
                imagesThisSession += indices.Length;
                stepsThisSession++;

                double seconds = Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
                double ips = imagesThisSession / seconds;
                var eta = TimeSpan.FromSeconds(seconds / stepsThisSession * (totalSteps - state.GlobalStep));
                progress?.Report(new TrainingProgress
                {
                    Step = state.GlobalStep, TotalSteps = totalSteps, Epoch = state.Epoch, TotalEpochs = options.Epochs,
                    Loss = loss, Terms = terms, LearningRate = options.LearningRate * factor, ImagesPerSecond = ips, Eta = eta,
                });
                if (lastPath is not null && options.CheckpointEverySteps > 0 && state.GlobalStep % options.CheckpointEverySteps == 0)
                    Checkpoints.Save(lastPath, state, network.Module, optimizer, lossModules);
            }
            if (cancelled) break;
            if (state.StepInEpoch < steps.Count) break; // the step budget ended inside this epoch

            EndEpoch(state, options, imagesThisSession / Math.Max(clock.Elapsed.TotalSeconds, 1e-9), logger);
            bool validateNow = data.Validator is not null && (state.Epoch % options.ValidateEveryEpochs == 0 || state.Epoch == options.Epochs);
            if (validateNow)
            {
                var metrics = data.Validator!.Validate(network, cancellationToken);
                network.Module.train();
                RecordValidation(state, options, metrics, network, bestPath, logger);
                progress?.Report(new TrainingProgress
                {
                    Step = state.GlobalStep, TotalSteps = totalSteps, Epoch = state.Epoch, TotalEpochs = options.Epochs,
                    Loss = state.History[^1].Loss, Terms = state.History[^1].Terms, LearningRate = options.LearningRate,
                    ImagesPerSecond = imagesThisSession / Math.Max(clock.Elapsed.TotalSeconds, 1e-9), Eta = TimeSpan.Zero,
                    Validation = metrics,
                });
            }
            if (lastPath is not null) Checkpoints.Save(lastPath, state, network.Module, optimizer, lossModules);
        }

        if (cancelled)
        {
            if (lastPath is not null)
            {
                Checkpoints.Save(lastPath, state, network.Module, optimizer, lossModules);
                TrainerLog.Cancelled(logger, state.GlobalStep, lastPath);
            }
            else TrainerLog.Cancelled(logger, state.GlobalStep, "(none: no checkpoint folder)");
        }
        else if (state.StepInEpoch > 0 && lastPath is not null)
        {
            Checkpoints.Save(lastPath, state, network.Module, optimizer, lossModules);
        }

        if (!cancelled && options.RestoreBestAtEnd && state.BestEpoch is not null && bestPath is not null && File.Exists(bestPath))
        {
            NetworkCheckpoint.Load(network.Module, bestPath);
            TrainerLog.RestoredBest(logger, state.BestEpoch.Value, options.SelectionMetric, state.BestMetric ?? double.NaN);
        }
        if (cache is not null && teacher is not null) TrainerLog.TeacherCacheFilled(logger, cache.FilledCount, teacher.EmbeddingDimension);

        network.Module.eval();
        double elapsed = clock.Elapsed.TotalSeconds;
        return new TrainingResult
        {
            Steps = state.GlobalStep, EpochsCompleted = state.Epoch, Cancelled = cancelled, StoppedEarly = state.StoppedEarly,
            Resumed = resumed, BestMetric = state.BestMetric, BestEpoch = state.BestEpoch, History = state.History.ToArray(),
            Validations = state.Validations.ToArray(), Elapsed = clock.Elapsed,
            ImagesPerSecond = elapsed > 0 ? imagesThisSession / elapsed : 0,
        };
    }

    private static (double Loss, Dictionary<string, double> Terms) Step(
        IEmbeddingNetwork network, TrainingObjective objective, IEmbeddingNetwork? teacher, IEmbeddingDataset dataset,
        int[] indices, int seed, bool augment, TrainingOptions options, Device device, TeacherEmbeddingCache? cache,
        IReadOnlyCollection<string> studentTaps, IReadOnlyCollection<string> teacherTaps, optim.Optimizer optimizer,
        IReadOnlyList<ParameterGroup> groups, int step)
    {
        using var scope = NewDisposeScope();
        var images = AsInputOf(network, dataset.LoadImages(indices, augment, seed).to(device));
        var student = network.Embed(images, studentTaps);

        EmbeddingOutput? teacherOut = null;
        if (teacher is not null && objective.DistillationTerms.Count > 0)
        {
            using (no_grad())
            {
                if (cache is not null)
                {
                    var rows = cache.Get(indices, missing =>
                        teacher.Embed(AsInputOf(teacher, TeacherImages(dataset, missing, false, 0).to(device))).Embedding);
                    teacherOut = new EmbeddingOutput(rows);
                }
                else
                {
                    var tImages = options.TeacherView == TeacherView.Clean
                        ? TeacherImages(dataset, indices, false, 0).to(device)
                        : dataset is ITeacherViewDataset ? TeacherImages(dataset, indices, augment, seed).to(device) : images;
                    teacherOut = teacher.Embed(AsInputOf(teacher, tImages), teacherTaps);
                }
            }
        }

        // The weighted sum (metric term on the labelled rows only, then lambda_k * L_k) is the Losses layer's.
        var labels = tensor(indices.Select(i => (long)dataset.Labels[i]).ToArray(), device: device);
        using var value = objective.Combined.Compute(student, teacherOut, labels);
        var total = value.Total;
        var terms = new Dictionary<string, double>(value.Terms);

        double loss = total.ToDouble();
        if (!double.IsFinite(loss))
            throw new InvalidOperationException(
                $"The training loss became {loss} at step {step} (terms: {FormatTerms(terms)}). Lower the learning rate or check the inputs.");
        optimizer.zero_grad();
        if (total.requires_grad) total.backward();
        if (options.GradientClipNorm is double clip)
            nn.utils.clip_grad_norm_(groups.SelectMany(g => g.Parameters), clip);
        optimizer.step();
        return (loss, terms);
    }

    /// <summary>Casts a CPU-loaded float32 batch to the dtype of the network's parameters (float64 networks work too).</summary>
    private static Tensor AsInputOf(IEmbeddingNetwork network, Tensor images)
    {
        var dtype = Devices.ParameterType(network.Module);
        return images.dtype == dtype ? images : images.to(dtype);
    }

    private static Tensor TeacherImages(IEmbeddingDataset dataset, int[] indices, bool augment, int seed)
        => dataset is ITeacherViewDataset paired ? paired.LoadTeacherImages(indices, augment, seed) : dataset.LoadImages(indices, augment, seed);

    private static void EndEpoch(RunState state, TrainingOptions options, double ips, ILogger logger)
    {
        int n = Math.Max(1, state.EpochStepsCounted);
        var terms = state.EpochTermSums.ToDictionary(kv => kv.Key, kv => kv.Value / n);
        state.History.Add(new EpochRecord(state.Epoch, state.EpochLossSum / n, terms));
        TrainerLog.EpochEnded(logger, state.Epoch + 1, options.Epochs, state.EpochLossSum / n, FormatTerms(terms), ips);
        state.Epoch++;
        state.StepInEpoch = 0;
        state.EpochLossSum = 0;
        state.EpochTermSums = [];
        state.EpochStepsCounted = 0;
    }

    private static void RecordValidation(RunState state, TrainingOptions options, IReadOnlyDictionary<string, double> metrics,
        IEmbeddingNetwork network, string? bestPath, ILogger logger)
    {
        if (!metrics.TryGetValue(options.SelectionMetric, out var value))
            throw new InvalidOperationException(
                $"The validator returned no '{options.SelectionMetric}' (the selection metric); it returned: {string.Join(", ", metrics.Keys)}.");
        state.Validations.Add(new ValidationRecord(state.Epoch, state.GlobalStep, new Dictionary<string, double>(metrics)));
        bool improved = state.BestMetric is null || value > state.BestMetric;
        if (improved)
        {
            state.BestMetric = value;
            state.BestEpoch = state.Epoch;
            state.ValidationsWithoutImprovement = 0;
            if (bestPath is not null) NetworkCheckpoint.Save(network.Module, bestPath);
        }
        else state.ValidationsWithoutImprovement++;
        TrainerLog.Validated(logger, state.Epoch, FormatTerms(metrics), improved ? " (best)" : "");
        if (options.EarlyStoppingPatience is int patience && state.ValidationsWithoutImprovement >= patience)
        {
            state.StoppedEarly = true;
            TrainerLog.EarlyStop(logger, state.Epoch, options.SelectionMetric, patience);
        }
    }

    private static IReadOnlyList<ParameterGroup> ParameterGroups(IEmbeddingNetwork network, TrainingObjective objective, TrainingOptions options)
    {
        var head = new List<Parameter>();
        var body = new List<Parameter>();
        foreach (var (name, p) in network.Module.named_parameters())
        {
            if (!p.requires_grad) continue;
            (name.StartsWith(options.HeadParameterPrefix, StringComparison.Ordinal) ? head : body).Add(p);
        }
        var lossParams = new List<Parameter>();
        if (objective.MetricLoss is not null) lossParams.AddRange(objective.MetricLoss.LearnableParameters());
        foreach (var t in objective.DistillationTerms) lossParams.AddRange(t.Loss.LearnableParameters());
        if (body.Count + head.Count == 0)
            throw new ArgumentException($"Network '{network.Name}' has no trainable parameters.", nameof(network));
        return
        [
            new ParameterGroup("backbone", body, 1.0),
            new ParameterGroup("head", head, options.HeadLearningRateMultiplier),
            new ParameterGroup("loss", lossParams.Distinct().ToList(), options.LossParameterLearningRateMultiplier),
        ];
    }

    private static List<nn.Module> LossModules(TrainingObjective objective)
    {
        var modules = new List<nn.Module>();
        if (objective.MetricLoss is nn.Module m) modules.Add(m);
        foreach (var t in objective.DistillationTerms)
            if (t.Loss is nn.Module d && !modules.Contains(d)) modules.Add(d);
        return modules;
    }

    private static void ValidateData(TrainingData data, TrainingObjective objective)
    {
        ArgumentNullException.ThrowIfNull(data.Train, nameof(data.Train));
        ArgumentNullException.ThrowIfNull(data.Sampler, nameof(data.Sampler));
        if (data.Sampler.BatchesPerEpoch < 1)
            throw new ArgumentException("The sampler yields no batch per epoch (too few images for one batch?).", nameof(data));
        if (data.Unlabelled is not null)
        {
            if (data.UnlabelledSampler is null)
                throw new ArgumentException("TrainingData.Unlabelled is set but TrainingData.UnlabelledSampler is not.", nameof(data));
            if (objective.DistillationTerms.Count == 0)
                throw new ArgumentException("Unlabelled batches carry only distillation terms, but the objective has none.", nameof(data));
            if (!(data.UnlabelledRatio > 0))
                throw new ArgumentOutOfRangeException(nameof(data), data.UnlabelledRatio, "TrainingData.UnlabelledRatio must be > 0.");
        }
    }

    /// <summary>A deterministic per-step seed (SplitMix64 of seed, epoch and step): the same on every machine and process.</summary>
    internal static int StepSeed(int seed, int epoch, int step)
    {
        ulong z = unchecked((ulong)seed * 0x9E3779B97F4A7C15UL + (ulong)epoch * 0xBF58476D1CE4E5B9UL + (ulong)step * 0x94D049BB133111EBUL + 1);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (int)(z & 0x7FFFFFFF);
    }

    private static string Describe(TrainingObjective o)
    {
        var parts = new List<string>();
        if (o.MetricLoss is not null) parts.Add(o.MetricWeight == 1 ? o.MetricLoss.Name : $"{o.MetricWeight:G3}*{o.MetricLoss.Name}");
        parts.AddRange(o.DistillationTerms.Select(t => $"{t.Weight.ToString("G3", CultureInfo.InvariantCulture)}*{t.Loss.Name}"));
        return string.Join(" + ", parts);
    }

    private static string FormatTerms(IReadOnlyDictionary<string, double> terms)
        => string.Join(", ", terms.Select(kv => $"{kv.Key} {kv.Value.ToString("F4", CultureInfo.InvariantCulture)}"));
}
