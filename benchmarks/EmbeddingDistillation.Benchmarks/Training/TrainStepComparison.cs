using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using EmbeddingDistillation.Data;
using EmbeddingDistillation.Losses;
using EmbeddingDistillation.Networks;
using EmbeddingDistillation.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Benchmarks.Training;

/// <summary>
/// One training step of the library (its own <see cref="Trainer"/> path) against the same step in PyTorch
/// (<c>benchmarks/pytorch/train_step.py</c>, run as a worker process and interleaved case by case, round by round),
/// minimum over rounds. docs/benchmarks.md, "Training step vs PyTorch".
/// </summary>
/// <remarks>
/// The C# step is <see cref="Trainer.Fit"/> on an in-memory dataset of random images (no augmentation), batch-hard
/// triplet, Adam (lr 1e-5, weight decay 2e-4): every step loads its batch from the dataset, embeds, scores, reads the
/// loss and the step's health on the host, and steps the optimiser. A step's time is the interval between two
/// consecutive progress reports, so the first step of every <c>Fit</c> call (set-up) is never counted.
/// <c>--distill</c> times the distillation step (frozen teacher on the same images, absolute (1) and relative (0.3)
/// teacher terms), the teacher's forward pass alone (eval, no_grad) and the student's metric-only step, so the
/// distillation step can be set against their sum.
/// </remarks>
internal static class TrainStepComparison
{
    /// <summary>The teacher forward of TorchVision's own model in TorchSharp (<c>--torchvision-teacher</c>).</summary>
    private const string TorchVisionTeacherKind = "teacher-torchvision";

    public static int Run(StepArgs a)
    {
        torch.set_num_threads(a.Threads);
        // What Trainer.Fit does (TrainingOptions.ReuseNativeMemory), applied before the first case so the teacher-forward
        // timings get it too; --default-malloc keeps glibc's defaults on both sides (the "before" of the docs).
        if (!a.DefaultMalloc) Primitives.NativeHeap.KeepFreedMemory();
        using var python = a.Python is null ? null : new PythonWorker(a.Python, a.Threads, !a.DefaultMalloc);
        var cases = new List<(string Net, int Size, string Kind)>();
        if (a.Distill)
            foreach (int size in a.Sizes)
            {
                cases.Add((a.Teacher, size, "teacher"));
                if (a.TorchVisionTeacher) cases.Add((a.Teacher, size, TorchVisionTeacherKind));
                cases.AddRange(new[] { (a.Student, size, "step"), (a.Student, size, "distill") });
            }
        else
            foreach (string net in a.Nets)
                foreach (int size in a.Sizes)
                    cases.Add((net, size, "step"));

        var best = new Dictionary<(string, int, string, string), List<double>>();
        void Add(string side, (string Net, int Size, string Kind) c, IEnumerable<double> ms)
        {
            var key = (side, c.Size, c.Net, c.Kind);
            if (!best.TryGetValue(key, out var list)) best[key] = list = new List<double>();
            list.AddRange(ms);
        }

        Console.Error.WriteLine($"# TorchSharp threads {torch.get_num_threads()}, batch {a.Batch}, rounds {a.Rounds} x {a.Steps} steps, " +
            $"{(a.DefaultMalloc ? "glibc default malloc" : "freed native memory kept")}{(python is null ? "" : $", PyTorch {python.Version}")}");
        for (int r = 0; r < a.Rounds; r++)
        {
            foreach (var c in cases)
            {
                var ours = a.OwnThread ? OnNewThread(() => Measure(a, c.Net, c.Size, c.Kind)) : Measure(a, c.Net, c.Size, c.Kind);
                Add("torchsharp", c, ours);
                Console.Error.WriteLine($"# round {r + 1} torchsharp {c.Net} {c.Size} {c.Kind}: {string.Join(" ", ours.Select(F))} ms");
                if (python is null) continue;
                // Distillation cases share one PyTorch case (student, teacher, images) for all three kinds; the TorchVision
                // teacher is set against PyTorch's teacher forward (torchvision's model there too).
                string kind = c.Kind == TorchVisionTeacherKind ? "teacher" : c.Kind;
                var theirs = python.Run(a.Distill ? a.Student : c.Net, c.Size, a.Batch, kind, a.Steps, a.Distill ? a.Teacher : null);
                Add("pytorch", c, theirs);
                Console.Error.WriteLine($"# round {r + 1} pytorch    {c.Net} {c.Size} {c.Kind}: {string.Join(" ", theirs.Select(F))} ms");
            }
        }

        var rows = new List<Dictionary<string, object>>();
        foreach (var ((side, size, net, kind), ms) in best.OrderBy(kv => kv.Key.Item3).ThenBy(kv => kv.Key.Item2).ThenBy(kv => kv.Key.Item4).ThenBy(kv => kv.Key.Item1))
        {
            double min = ms.Min();
            rows.Add(new Dictionary<string, object>
            {
                ["side"] = side, ["net"] = net, ["size"] = size, ["batch"] = a.Batch, ["threads"] = a.Threads, ["kind"] = kind,
                ["ms"] = ms.Select(m => Math.Round(m, 3)).ToArray(), ["min_ms"] = Math.Round(min, 3),
                ["images_per_s"] = Math.Round(a.Batch * 1e3 / min, 3),
            });
        }
        string json = string.Join(Environment.NewLine, rows.Select(r => JsonSerializer.Serialize(r)));
        if (a.Output is not null) File.WriteAllText(a.Output, json + Environment.NewLine);
        Console.WriteLine(json);
        PrintTable(rows, a);
        return 0;
    }

    /// <summary>Runs on a fresh thread (another glibc arena than the main thread's): <c>--own-thread</c>.</summary>
    private static List<double> OnNewThread(Func<List<double>> work)
    {
        List<double>? result = null;
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try { result = work(); }
            catch (Exception e) { error = e; }
        }, 64 << 20);
        thread.Start();
        thread.Join();
        if (error is not null) throw new InvalidOperationException("the measurement thread failed", error);
        return result!;
    }

    private static string F(double v) => v.ToString("F1", CultureInfo.InvariantCulture);

    private static void PrintTable(List<Dictionary<string, object>> rows, StepArgs a)
    {
        Console.WriteLine();
        Console.WriteLine($"| network | px | kind | TorchSharp ms | PyTorch ms | TorchSharp / PyTorch | TorchSharp img/s | PyTorch img/s |");
        Console.WriteLine("|---|---:|---|---:|---:|---:|---:|---:|");
        foreach (var g in rows.GroupBy(r => ((string)r["net"], (int)r["size"], (string)r["kind"])))
        {
            double? ours = g.FirstOrDefault(r => (string)r["side"] == "torchsharp")?["min_ms"] as double?;
            double? theirs = g.FirstOrDefault(r => (string)r["side"] == "pytorch")?["min_ms"] as double?;
            string Cell(double? v) => v is null ? "-" : F(v.Value);
            string Rate(double? v) => v is null ? "-" : (a.Batch * 1e3 / v.Value).ToString("F1", CultureInfo.InvariantCulture);
            string ratio = ours is not null && theirs is not null ? (ours.Value / theirs.Value).ToString("F2", CultureInfo.InvariantCulture) : "-";
            Console.WriteLine($"| {g.Key.Item1} | {g.Key.Item2} | {g.Key.Item3} | {Cell(ours)} | {Cell(theirs)} | {ratio} | {Rate(ours)} | {Rate(theirs)} |");
        }
    }

    /// <summary>Times <c>a.Steps</c> steps of one case in this process (fresh networks every call, fixed seed).</summary>
    private static List<double> Measure(StepArgs a, string net, int size, string kind)
    {
        torch.manual_seed(0);
        if (kind == "teacher") return TeacherForward(a, EmbeddingNetworks.Create(net, 512), size);
        if (kind == TorchVisionTeacherKind) return TeacherForward(a, TorchVisionModel(net), size);
        using var student = EmbeddingNetworks.Create(net, 512);
        var labels = Enumerable.Range(0, a.Batch).Select(i => i / 8).ToArray();
        using var images = rand(a.Batch, 3, size, size);
        var data = InMemoryImageDataset.FromTensor(images, labels, new InMemoryDatasetOptions { Name = "random" });
        var sampler = new ClassBalancedSampler(data.Labels, new ClassBalancedSamplerOptions
        {
            ClassesPerBatch = a.Batch / 8, ImagesPerClass = 8, BatchesPerEpoch = a.Steps + 1, Seed = 1,
        });
        EmbeddingNetwork? teacher = kind == "distill" ? EmbeddingNetworks.Create(a.Teacher, 512) : null;
        try
        {
            var objective = teacher is null
                ? TrainingObjective.MetricOnly(new TripletLoss())
                : TrainingObjective.Distillation(new TripletLoss(), teacher,
                    new WeightedDistillationTerm(new AbsoluteTeacherLoss(), 1.0), new WeightedDistillationTerm(new RelativeTeacherLoss(), 0.3));
            var clock = new StepClock();
            new Trainer().Fit(student, objective, new TrainingData { Train = data, Sampler = sampler, Augment = false },
                new TrainingOptions
                {
                    Epochs = 1, MaxSteps = a.Steps + 1, CacheTeacherOutputs = false, RestoreBestAtEnd = false, ReuseNativeMemory = !a.DefaultMalloc,
                }, clock);
            return clock.Intervals;
        }
        finally
        {
            teacher?.Dispose();
        }
    }

    /// <summary>TorchVision's ResNet in TorchSharp with a 512-d head (its fc), L2-normalised as the library's teachers.</summary>
    private static nn.Module<Tensor, Tensor> TorchVisionModel(string net) => net switch
    {
        "resnet18" => torchvision.models.resnet18(num_classes: 512),
        "resnet34" => torchvision.models.resnet34(num_classes: 512),
        "resnet50" => torchvision.models.resnet50(num_classes: 512),
        "resnet101" => torchvision.models.resnet101(num_classes: 512),
        _ => throw new ArgumentException($"--torchvision-teacher: no TorchVision model for '{net}' (resnet18/34/50/101)"),
    };

    private static List<double> TeacherForward(StepArgs a, EmbeddingNetwork network, int size)
    {
        using var owned = network;
        return TeacherForward(a, images => network.Embed(images).Embedding, network, size);
    }

    private static List<double> TeacherForward(StepArgs a, nn.Module<Tensor, Tensor> model, int size)
    {
        using var owned = model;
        return TeacherForward(a, images => nn.functional.normalize(model.call(images), p: 2, dim: 1), model, size);
    }

    private static List<double> TeacherForward(StepArgs a, Func<Tensor, Tensor> embed, nn.Module teacher, int size)
    {
        teacher.eval();
        using var images = randn(a.Batch, 3, size, size);
        var times = new List<double>();
        for (int i = 0; i <= a.Steps; i++)
        {
            var sw = Stopwatch.StartNew();
            using (var scope = NewDisposeScope())
            using (no_grad())
            {
                var e = embed(images);
                _ = e.sum().item<float>();
            }
            if (i > 0) times.Add(sw.Elapsed.TotalMilliseconds);
        }
        return times;
    }

    /// <summary>Records the time between consecutive progress reports (one per step, reported synchronously).</summary>
    private sealed class StepClock : IProgress<TrainingProgress>
    {
        private readonly Stopwatch _clock = new();
        public List<double> Intervals { get; } = new();

        public void Report(TrainingProgress value)
        {
            if (_clock.IsRunning) Intervals.Add(_clock.Elapsed.TotalMilliseconds);
            _clock.Restart();
        }
    }

    /// <summary><c>train_step.py --serve</c>: one JSON request per case, one JSON answer with the step times.</summary>
    private sealed class PythonWorker : IDisposable
    {
        private readonly Process _process;

        public PythonWorker(string python, int threads, bool keepFreedMemory)
        {
            string script = FindScript();
            var info = new ProcessStartInfo(python)
            {
                RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false,
            };
            // The same C heap behaviour as the library's trainer (TrainingOptions.ReuseNativeMemory), so both sides
            // time libtorch's work rather than page faults; --default-malloc leaves glibc's defaults.
            if (keepFreedMemory && Environment.GetEnvironmentVariable("GLIBC_TUNABLES") is null)
                info.Environment["GLIBC_TUNABLES"] = "glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=18446744073709551615";
            foreach (var arg in new[] { script, "--serve", "--threads", threads.ToString(CultureInfo.InvariantCulture) }) info.ArgumentList.Add(arg);
            _process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {python}");
            using var ready = JsonDocument.Parse(ReadLine());
            Version = ready.RootElement.GetProperty("torch").GetString() ?? "?";
        }

        public string Version { get; }

        public List<double> Run(string net, int size, int batch, string kind, int steps, string? teacher)
        {
            var request = new Dictionary<string, object?> { ["net"] = net, ["size"] = size, ["batch"] = batch, ["kind"] = kind, ["steps"] = steps, ["teacher"] = teacher };
            _process.StandardInput.WriteLine(JsonSerializer.Serialize(request));
            _process.StandardInput.Flush();
            using var answer = JsonDocument.Parse(ReadLine());
            return answer.RootElement.GetProperty("ms").EnumerateArray().Select(e => e.GetDouble()).ToList();
        }

        private string ReadLine() => _process.StandardOutput.ReadLine()
            ?? throw new InvalidOperationException($"the PyTorch worker exited (code {(_process.HasExited ? _process.ExitCode : -1)}); run train_step.py alone to see why");

        private static string FindScript()
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                var path = Path.Combine(dir.FullName, "benchmarks", "pytorch", "train_step.py");
                if (File.Exists(path)) return path;
            }
            throw new FileNotFoundException("benchmarks/pytorch/train_step.py not found above the benchmark's output folder");
        }

        public void Dispose()
        {
            try
            {
                _process.StandardInput.Close();
                if (!_process.WaitForExit(30_000)) _process.Kill();
            }
            finally
            {
                _process.Dispose();
            }
        }
    }
}
