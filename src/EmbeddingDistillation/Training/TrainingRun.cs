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
/// One <see cref="Trainer.Fit"/> call: everything the run holds (networks, optimiser, caches, checkpoint paths, the
/// resumable <see cref="RunState"/>) in one place, so that a step reads as "load, embed, score, check, step".
/// </summary>
internal sealed class TrainingRun : IDisposable
{
    private readonly IEmbeddingNetwork _network;
    private readonly TrainingObjective _objective;
    private readonly IEmbeddingNetwork? _teacher;
    private readonly TrainingData _data;
    private readonly TrainingOptions _options;
    private readonly IProgress<TrainingProgress>? _progress;
    private readonly ILogger _logger;
    private readonly Device _device;
    private readonly string _name;
    private readonly IReadOnlyList<ParameterGroup> _groups;
    private readonly Parameter[] _trainable;
    private readonly List<nn.Module> _lossModules;
    private readonly Optimizer _optimizer;
    private readonly BatchSchedule _schedule;
    private readonly int _totalSteps;
    private readonly string? _lastPath;
    private readonly string? _bestPath;
    private readonly TeacherEmbeddingCache? _cache;
    private readonly TeacherEmbeddingCache? _unlabelledCache;
    /// <summary>The averaged weights (<see cref="TrainingOptions.WeightAverageDecay"/>), or null.</summary>
    private readonly WeightAverage? _average;
    private readonly IReadOnlyCollection<string> _studentTaps;
    private readonly IReadOnlyCollection<string> _teacherTaps;
    private readonly Stopwatch _clock = new();
    /// <summary>The best weights when there is no checkpoint folder to hold them (so that selection never depends on one).</summary>
    private Dictionary<string, Tensor>? _bestInMemory;
    private RunState _state;
    private long _imagesThisSession;
    private int _stepsThisSession;

    public TrainingRun(IEmbeddingNetwork network, TrainingObjective objective, TrainingData data, TrainingOptions options,
        IProgress<TrainingProgress>? progress)
    {
        _network = network;
        _objective = objective;
        _data = data;
        _options = options;
        _progress = progress;
        _name = options.RunName ?? network.Name;
        _logger = options.LoggerFactory?.CreateLogger<Trainer>() ?? (ILogger)NullLogger.Instance;
        _device = options.Device is null ? Devices.Of(network.Module) : Devices.Pick(options.Device);
        network.Module.to(_device);
        _lossModules = objective.LossModules().ToList();
        foreach (var m in _lossModules) m.to(_device);
        _teacher = objective.Teacher;
        RequireTaps(network, objective.StudentTaps, "student");
        if (_teacher is not null) RequireTaps(_teacher, objective.TeacherTaps, "teacher");
        if (_teacher is not null)
        {
            _teacher.Module.to(_device);
            _teacher.Module.eval();
            foreach (var p in _teacher.Module.parameters()) p.requires_grad = false;
        }

        torch.manual_seed(options.Seed);
        _groups = ParameterGroups(network, objective, options);
        _trainable = _groups.SelectMany(g => g.Parameters).ToArray();
        _optimizer = Optimizer.Create(options, _groups);
        _schedule = new BatchSchedule(data);
        _totalSteps = Math.Min(options.Epochs * _schedule.StepsPerEpoch, options.MaxSteps ?? int.MaxValue);

        _state = new RunState { Seed = options.Seed };
        _lastPath = options.CheckpointDirectory is null ? null : Path.Combine(options.CheckpointDirectory, Trainer.LastCheckpointFile);
        _bestPath = options.CheckpointDirectory is null ? null : Path.Combine(options.CheckpointDirectory, Trainer.BestWeightsFile);
        bool useCache = _teacher is not null && options.TeacherView == TeacherView.Clean && options.CacheTeacherOutputs;
        TeacherEmbeddingCache Cache(int count) => new(count, objective.TeacherTaps, options.TeacherCacheHalfPrecisionMaps, options.TeacherCacheMaxMapBytes);
        _cache = useCache ? Cache(data.Train.Count) : null;
        _unlabelledCache = useCache && data.Unlabelled is not null ? Cache(data.Unlabelled.Count) : null;
        _average = options.WeightAverageDecay is double decay ? new WeightAverage(network.Module, decay) : null;
        if (_lastPath is not null && options.Resume && File.Exists(_lastPath))
        {
            _state = Checkpoints.Load(_lastPath, network.Module, _optimizer, _lossModules, [_cache, _unlabelledCache], _average, _device);
            if (_state.Seed != options.Seed)
                throw new InvalidOperationException($"Checkpoint '{_lastPath}' was written by a run with seed {_state.Seed}, not {options.Seed}; use another checkpoint folder or the same seed.");
            Resumed = true;
            TrainerLog.Resumed(_logger, _lastPath, _state.Epoch, _state.GlobalStep);
        }
        TrainerLog.Started(_logger, _name, options.Epochs, _totalSteps, _device.ToString(), objective.ToString());

        _studentTaps = objective.StudentTaps;
        _teacherTaps = objective.TeacherTaps;
    }

    public bool Resumed { get; }

    public bool Cancelled { get; private set; }

    /// <summary>Trains until the budget ends, early stopping triggers, or cancellation is requested.</summary>
    public void Train(CancellationToken cancellationToken)
    {
        _clock.Start();
        if (_state.PendingValidation && !Validate(cancellationToken)) Cancelled = true;
        _network.Module.train();
        while (!Cancelled && _state.Epoch < _options.Epochs && _state.GlobalStep < _totalSteps && !_state.StoppedEarly)
        {
            var steps = _schedule.Epoch(_state.Epoch);
            while (_state.StepInEpoch < steps.Count && _state.GlobalStep < _totalSteps)
            {
                if (cancellationToken.IsCancellationRequested) { Cancelled = true; break; }
                var (unlabelled, indices) = steps[_state.StepInEpoch];
                Step(unlabelled, indices);
            }
            if (Cancelled || _state.StepInEpoch < steps.Count) break; // cancelled, or the step budget ended inside this epoch

            EndEpoch();
            bool validateNow = _data.Validator is not null
                && (_state.Epoch % _options.ValidateEveryEpochs == 0 || _state.Epoch == _options.Epochs);
            if (validateNow)
            {
                _state.PendingValidation = true;
                if (!Validate(cancellationToken)) { Cancelled = true; break; }
            }
            SaveCheckpoint();
        }
        _clock.Stop();

        if (Cancelled)
        {
            if (_lastPath is null) TrainerLog.Cancelled(_logger, _state.GlobalStep, "(none: no checkpoint folder)");
            else
            {
                SaveCheckpoint();
                if (_state.PendingValidation) TrainerLog.CancelledBeforeValidation(_logger, _state.Epoch, _lastPath);
                else TrainerLog.Cancelled(_logger, _state.GlobalStep, _lastPath);
            }
        }
        else if (_state.StepInEpoch > 0) SaveCheckpoint();
    }

    /// <summary>Restores the best weights when asked and summarises the run.</summary>
    public TrainingResult Finish()
    {
        bool restored = false;
        if (!Cancelled && _options.RestoreBestAtEnd && _state.BestEpoch is not null)
        {
            if (_bestPath is not null && File.Exists(_bestPath))
            {
                NetworkCheckpoint.LoadModule(_network.Module, _bestPath);
                restored = true;
            }
            else if (_bestInMemory is not null)
            {
                using var noGrad = no_grad();
                foreach (var (name, tensor) in _network.Module.state_dict()) tensor.copy_(_bestInMemory[name]);
                restored = true;
            }
            if (restored) TrainerLog.RestoredBest(_logger, _state.BestEpoch.Value, _options.SelectionMetric, _state.BestMetric ?? double.NaN);
        }
        // Without a selected checkpoint the run returns its averaged weights (a cancelled run keeps the live ones its checkpoint resumes from).
        if (!Cancelled && !restored) _average?.Swap();
        if (_cache is not null && _teacher is not null) TrainerLog.TeacherCacheFilled(_logger, _cache.FilledCount, _teacher.EmbeddingDimension);
        _network.Module.eval();
        double elapsed = _clock.Elapsed.TotalSeconds;
        return new TrainingResult
        {
            Steps = _state.GlobalStep, EpochsCompleted = _state.Epoch, Cancelled = Cancelled, StoppedEarly = _state.StoppedEarly,
            Resumed = Resumed, BestMetric = _state.BestMetric, BestEpoch = _state.BestEpoch, History = _state.History.ToArray(),
            Validations = _state.Validations.ToArray(), SkippedSteps = _state.SkippedSteps, Elapsed = _clock.Elapsed,
            ImagesPerSecond = elapsed > 0 ? _imagesThisSession / elapsed : 0,
        };
    }

    public void Dispose()
    {
        DisposeBestInMemory();
        _average?.Dispose();
        _cache?.Dispose();
        _unlabelledCache?.Dispose();
        _optimizer.Dispose();
    }

    /// <summary>One optimisation step: load, embed, score, check (one host copy), then step, skip or stop.</summary>
    private void Step(bool unlabelled, int[] indices)
    {
        var dataset = unlabelled ? _data.Unlabelled! : _data.Train;
        int seed = Trainer.StepSeed(_options.Seed, _state.Epoch, _state.StepInEpoch);
        double factor = LearningRates.Factor(_options, _state.GlobalStep, _totalSteps, _schedule.StepsPerEpoch);
        _optimizer.SetLearningRates(_options.LearningRate, factor);

        StepReading reading;
        using (var scope = NewDisposeScope())
        {
            var snapshot = _options.NonFiniteSteps == NonFiniteStepPolicy.Skip ? BufferSnapshot.Take(_lossModules.Prepend((nn.Module)_network.Module)) : null;
            var images = AsInputOf(_network, dataset.LoadImages(indices, _data.Augment, seed).to(_device));
            var student = _network.Embed(images, _studentTaps);
            var teacher = TeacherOutput(dataset, indices, seed, images, unlabelled ? _unlabelledCache : _cache);
            var labels = tensor(indices.Select(i => (long)dataset.Labels[i]).ToArray(), device: _device);
            // The weighted sum (metric term on the labelled rows only, then lambda_k * L_k) is the Losses layer's.
            using var value = _objective.Compute(student, teacher, labels, unlabelled ? 0 : indices.Length);
            _optimizer.ZeroGrad();
            if (value.Total.requires_grad) value.Total.backward();
            var gradientNorm = StepHealth.GradientNorm(_trainable, _device);
            if (_options.GradientClipNorm is double clip) StepHealth.Clip(_trainable, gradientNorm, clip);
            reading = StepHealth.Read(value, student.Embedding, teacher?.Embedding, gradientNorm);
            if (reading.Problem is null)
            {
                _optimizer.Step();
                _average?.Update(_state.GlobalStep - _state.SkippedSteps);
            }
            else
            {
                _optimizer.ZeroGrad();
                if (snapshot is null) throw NonFinite(reading);
                snapshot.Restore();
            }
        }

        _state.StepInEpoch++;
        _state.GlobalStep++;
        _imagesThisSession += indices.Length;
        _stepsThisSession++;
        if (reading.Problem is null)
        {
            _state.ConsecutiveSkippedSteps = 0;
            _state.EpochLossSum += reading.Loss;
            _state.EpochStepsCounted++;
            foreach (var (name, v) in reading.Terms)
                _state.EpochTermSums[name] = _state.EpochTermSums.GetValueOrDefault(name) + v;
        }
        else Skip(reading);

        double seconds = Math.Max(_clock.Elapsed.TotalSeconds, 1e-9);
        _progress?.Report(new TrainingProgress
        {
            Step = _state.GlobalStep, TotalSteps = _totalSteps, Epoch = _state.Epoch, TotalEpochs = _options.Epochs,
            Loss = reading.Loss, Terms = reading.Terms, LearningRate = _options.LearningRate * factor,
            ImagesPerSecond = _imagesThisSession / seconds,
            Eta = TimeSpan.FromSeconds(seconds / _stepsThisSession * (_totalSteps - _state.GlobalStep)),
            Labelled = !unlabelled, Skipped = reading.Problem is not null,
        });
        if (_lastPath is not null && _options.CheckpointEverySteps > 0 && _state.GlobalStep % _options.CheckpointEverySteps == 0)
            SaveCheckpoint();
    }

    private EmbeddingOutput? TeacherOutput(IEmbeddingDataset dataset, int[] indices, int seed, Tensor studentImages, TeacherEmbeddingCache? cache)
    {
        if (_teacher is null || _objective.DistillationTerms.Count == 0) return null;
        using var noGrad = no_grad();
        if (cache is not null)
        {
            bool wasOverBudget = cache.OverBudget;
            var output = cache.Get(indices, missing => _teacher.Embed(AsInputOf(_teacher, TeacherImages(dataset, missing, false, 0).to(_device)), _teacherTaps));
            if (cache.OverBudget && !wasOverBudget)
                TrainerLog.TeacherCacheOverBudget(_logger, _name, cache.MapBytes / 1048576.0, _options.TeacherCacheMaxMapBytes / 1048576.0);
            return output;
        }
        var images = _options.TeacherView == TeacherView.Clean
            ? TeacherImages(dataset, indices, false, 0).to(_device)
            : dataset is ITeacherViewDataset ? TeacherImages(dataset, indices, _data.Augment, seed).to(_device) : studentImages;
        return _teacher.Embed(AsInputOf(_teacher, images), _teacherTaps);
    }

    private void Skip(StepReading reading)
    {
        _state.SkippedSteps++;
        _state.ConsecutiveSkippedSteps++;
        TrainerLog.SkippedStep(_logger, _name, _state.GlobalStep, _state.Epoch + 1, reading.Where, _state.SkippedSteps);
        if (_state.ConsecutiveSkippedSteps >= _options.MaxConsecutiveSkippedSteps)
        {
            _state.GlobalStep--; // report the failing step, as the stop policy does
            var e = NonFinite(reading, $" This is the {_options.MaxConsecutiveSkippedSteps}th skipped step in a row (MaxConsecutiveSkippedSteps).");
            _state.GlobalStep++;
            throw e;
        }
    }

    private NonFiniteTrainingException NonFinite(StepReading reading, string extra = "")
    {
        int step = _state.GlobalStep + 1, epoch = _state.Epoch + 1;
        string checkpoint = _lastPath is not null && File.Exists(_lastPath)
            ? $" The last checkpoint, '{_lastPath}', is intact (nothing of this step was applied)."
            : " Nothing of this step was applied.";
        string message = $"Training run '{_name}' stopped at step {step} (epoch {epoch}): {reading.Where} not finite " +
            $"(loss {reading.Loss.ToString("G6", CultureInfo.InvariantCulture)}; terms: {FormatTerms(reading.Terms)}).{extra}{checkpoint} " +
            "Typical causes: a learning rate too high for this network, a damaged input or weights file, or a numerically broken native kernel " +
            "(docs/training.md, \"Non-finite values\"). TrainingOptions.NonFiniteSteps = Skip skips such steps instead.";
        return new NonFiniteTrainingException(_name, epoch, step, reading.Problem!.Value, reading.Term, message);
    }

    private void EndEpoch()
    {
        int n = Math.Max(1, _state.EpochStepsCounted);
        var terms = _state.EpochTermSums.ToDictionary(kv => kv.Key, kv => kv.Value / n);
        _state.History.Add(new EpochRecord(_state.Epoch, _state.EpochLossSum / n, terms));
        TrainerLog.EpochEnded(_logger, _state.Epoch + 1, _options.Epochs, _state.EpochLossSum / n, FormatTerms(terms),
            _imagesThisSession / Math.Max(_clock.Elapsed.TotalSeconds, 1e-9));
        _state.Epoch++;
        _state.StepInEpoch = 0;
        _state.EpochLossSum = 0;
        _state.EpochTermSums = [];
        _state.EpochStepsCounted = 0;
    }

    /// <summary>Runs the validation owed by the last finished epoch; false when cancellation stopped it.</summary>
    private bool Validate(CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested) return false;
        // With weight averaging the average is validated and, when best, saved; the live weights train on.
        IReadOnlyDictionary<string, double>? metrics;
        _average?.Swap();
        try
        {
            metrics = RunValidator(cancellationToken);
            if (metrics is null) return false;
            _state.PendingValidation = false;
            RecordValidation(metrics);
        }
        finally
        {
            _average?.Swap();
        }
        var last = _state.History[^1];
        _progress?.Report(new TrainingProgress
        {
            Step = _state.GlobalStep, TotalSteps = _totalSteps, Epoch = _state.Epoch, TotalEpochs = _options.Epochs,
            Loss = last.Loss, Terms = last.Terms, LearningRate = _options.LearningRate,
            ImagesPerSecond = _imagesThisSession / Math.Max(_clock.Elapsed.TotalSeconds, 1e-9), Eta = TimeSpan.Zero,
            Validation = metrics,
        });
        return true;
    }

    /// <summary>The validator's metrics of the network as it is now, or null when cancellation stopped it.</summary>
    private IReadOnlyDictionary<string, double>? RunValidator(CancellationToken cancellationToken)
    {
        try
        {
            return _data.Validator!.Validate(_network, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return null;
        }
        finally
        {
            _network.Module.train();
        }
    }

    private void RecordValidation(IReadOnlyDictionary<string, double> metrics)
    {
        if (!metrics.TryGetValue(_options.SelectionMetric, out var value))
            throw new InvalidOperationException(
                $"The validator returned no '{_options.SelectionMetric}' (the selection metric); it returned: {string.Join(", ", metrics.Keys)}.");
        _state.Validations.Add(new ValidationRecord(_state.Epoch, _state.GlobalStep, new Dictionary<string, double>(metrics)));
        bool improved = _state.BestMetric is null || value > _state.BestMetric;
        if (improved)
        {
            _state.BestMetric = value;
            _state.BestEpoch = _state.Epoch;
            _state.ValidationsWithoutImprovement = 0;
            if (_bestPath is not null) NetworkCheckpoint.SaveModule(_network.Module, _bestPath);
            else if (_options.RestoreBestAtEnd) KeepBestInMemory();
        }
        else _state.ValidationsWithoutImprovement++;
        TrainerLog.Validated(_logger, _state.Epoch, FormatTerms(metrics), improved ? " (best)" : "");
        if (_options.EarlyStoppingPatience is int patience && _state.ValidationsWithoutImprovement >= patience)
        {
            _state.StoppedEarly = true;
            TrainerLog.EarlyStop(_logger, _state.Epoch, _options.SelectionMetric, patience);
        }
    }

    private void KeepBestInMemory()
    {
        DisposeBestInMemory();
        using var noGrad = no_grad();
        _bestInMemory = _network.Module.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone().DetachFromDisposeScope());
    }

    private void DisposeBestInMemory()
    {
        if (_bestInMemory is null) return;
        foreach (var t in _bestInMemory.Values) t.Dispose();
        _bestInMemory = null;
    }

    private void SaveCheckpoint()
    {
        if (_lastPath is not null) Checkpoints.Save(_lastPath, _state, _network.Module, _optimizer, _lossModules, [_cache, _unlabelledCache], _average);
    }

    /// <summary>Casts a CPU-loaded float32 batch to the dtype of the network's parameters (float64 networks work too).</summary>
    /// <summary>Fails before the first step when a term reads a tap the network does not expose (e.g. an ONNX teacher without taps).</summary>
    private static void RequireTaps(IEmbeddingNetwork network, IReadOnlyCollection<string> taps, string role)
    {
        var missing = taps.Where(t => !network.TapNames.Contains(t, StringComparer.Ordinal)).ToArray();
        if (missing.Length == 0) return;
        var available = network.TapNames.Count == 0 ? "none" : string.Join(", ", network.TapNames);
        throw new ArgumentException(
            $"The distillation terms read {role} tap(s) {string.Join(", ", missing.Select(m => $"'{m}'"))}, which {role} '{network.Name}' does not expose (its taps: {available}).");
    }

    private static Tensor AsInputOf(IEmbeddingNetwork network, Tensor images)
    {
        var dtype = Devices.ParameterType(network.Module);
        return images.dtype == dtype ? images : images.to(dtype);
    }

    private static Tensor TeacherImages(IEmbeddingDataset dataset, int[] indices, bool augment, int seed)
        => dataset is ITeacherViewDataset paired ? paired.LoadTeacherImages(indices, augment, seed) : dataset.LoadImages(indices, augment, seed);

    private static IReadOnlyList<ParameterGroup> ParameterGroups(IEmbeddingNetwork network, TrainingObjective objective, TrainingOptions options)
    {
        var head = new List<Parameter>();
        var body = new List<Parameter>();
        foreach (var (name, p) in network.Module.named_parameters())
        {
            if (!p.requires_grad) continue;
            (name.StartsWith(options.HeadParameterPrefix, StringComparison.Ordinal) ? head : body).Add(p);
        }
        if (body.Count + head.Count == 0)
            throw new ArgumentException($"Network '{network.Name}' has no trainable parameters.", nameof(network));
        var lossParams = objective.LearnableParameters().ToList();
        return
        [
            new ParameterGroup("backbone", body, 1.0),
            new ParameterGroup("head", head, options.HeadLearningRateMultiplier),
            new ParameterGroup("loss", lossParams, options.LossParameterLearningRateMultiplier),
        ];
    }

    internal static string FormatTerms(IReadOnlyDictionary<string, double> terms)
        => string.Join(", ", terms.Select(kv => $"{kv.Key} {kv.Value.ToString("F4", CultureInfo.InvariantCulture)}"));
}
