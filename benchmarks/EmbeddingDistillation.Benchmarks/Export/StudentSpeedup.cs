using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using EmbeddingDistillation.Benchmarks.Training;
using EmbeddingDistillation.Export;
using EmbeddingDistillation.Networks;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using TorchSharp;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace EmbeddingDistillation.Benchmarks.Export;

/// <summary>
/// The compact student's measured speed-up over its teachers at 224 px: inference latency and images/s of
/// MobileNetV1-0.25, ResNet-18 and ResNet-101 (512-d heads, eval, BN statistics calibrated) at batch 1 and 32, in
/// TorchSharp (eval, no_grad) and in ONNX Runtime (the library's ONNX export, BN folded, ORT_ENABLE_ALL), on the same
/// thread count; cases interleaved round by round, minimum kept; next to the MAC ratio (<see cref="ModelComplexity"/>).
/// docs/benchmarks.md, "Student vs teacher speed-up".
/// <c>dotnet run -c Release --project benchmarks/EmbeddingDistillation.Benchmarks -- speedup --threads 1</c>.
/// </summary>
internal static class StudentSpeedup
{
    private const int Size = 224;

    /// <summary>How long each case runs untimed right before its timed runs in every round.</summary>
    private const int WarmMilliseconds = 300;

    /// <summary>A case's timed runs in a round last at least this long (fast cases: many runs; slow ones: the step count).</summary>
    private const int MinTimedMilliseconds = 300;

    public static int Run(StepArgs a)
    {
        torch.set_num_threads(a.Threads);
        Primitives.NativeHeap.KeepFreedMemory(); // batch 32 at 224 px frees and reallocates large maps (see Trainer)
        string[] nets = a.Nets.SequenceEqual(new StepArgs().Nets) ? new[] { "mobilenetv1-0.25", "resnet18", "resnet101" } : a.Nets;
        var models = new List<Model>();
        try
        {
            foreach (var name in nets) models.Add(new Model(name, a.Threads));
            var times = new Dictionary<(string Net, int Batch, string Engine), double>();
            var images = a.Batches.ToDictionary(b => b, b => randn(new long[] { b, 3, Size, Size }, generator: new Generator(42)));
            // Each engine gets its input in its own form before the clock starts (a server holds its batch in one form).
            var ortImages = images.ToDictionary(kv => kv.Key, kv => new DenseTensor<float>(kv.Value.data<float>().ToArray(), kv.Value.shape.Select(s => (int)s).ToArray()));
            Console.Error.WriteLine($"# threads {a.Threads} (TorchSharp and ONNX Runtime intra-op), {a.Rounds} rounds x at least {a.Steps} runs " +
                $"and {MinTimedMilliseconds} ms, each case warmed for {WarmMilliseconds} ms just before; min");
            for (int r = 0; r <= a.Rounds; r++) // round 0 warms up
                foreach (var m in models)
                    foreach (int b in a.Batches)
                        foreach (var engine in new[] { "torchsharp", "onnxruntime" })
                        {
                            void Once()
                            {
                                if (engine == "torchsharp") m.Torch(images[b]); else m.Ort(ortImages[b]);
                            }
                            // Warm this case right before its clock: the cases are interleaved, and a small network timed
                            // right after a large one otherwise runs from cold caches and a sleeping thread pool (the first
                            // version of this table measured the student's ONNX Runtime latency at 1.9-4.5 ms that way;
                            // 0.66 ms warm, as OnnxInferenceBenchmarks measures it).
                            var warm = Stopwatch.StartNew();
                            do Once(); while (warm.ElapsedMilliseconds < WarmMilliseconds);
                            if (r == 0) continue;
                            var key = (m.Name, b, engine);
                            var timed = Stopwatch.StartNew();
                            for (int i = 0; i < a.Steps || timed.ElapsedMilliseconds < MinTimedMilliseconds; i++)
                            {
                                var sw = Stopwatch.StartNew();
                                Once();
                                times[key] = Math.Min(times.GetValueOrDefault(key, double.MaxValue), sw.Elapsed.TotalMilliseconds);
                            }
                            Console.Error.WriteLine($"# round {r} {m.Name} batch {b} {engine}: {times[key]:F2} ms (min so far)");
                        }
            foreach (var t in images.Values) t.Dispose();
            Print(a, models, times);
        }
        finally
        {
            foreach (var m in models) m.Dispose();
        }
        return 0;
    }

    private static void Print(StepArgs a, List<Model> models, Dictionary<(string Net, int Batch, string Engine), double> times)
    {
        string student = models[0].Name;
        var rows = new List<Dictionary<string, object>>();
        foreach (var ((net, batch, engine), ms) in times)
            rows.Add(new Dictionary<string, object>
            {
                ["net"] = net, ["batch"] = batch, ["engine"] = engine, ["threads"] = a.Threads, ["size"] = Size,
                ["ms"] = Math.Round(ms, 3), ["images_per_s"] = Math.Round(batch * 1e3 / ms, 2),
                ["macs"] = models.First(m => m.Name == net).Macs,
            });
        string json = string.Join(Environment.NewLine, rows.Select(r => JsonSerializer.Serialize(r)));
        if (a.Output is not null) File.WriteAllText(a.Output, json + Environment.NewLine);
        Console.WriteLine(json);
        Console.WriteLine();
        Console.WriteLine("| network | MACs (224 px) | batch | engine | latency ms | images/s | student speed-up over it | MAC ratio |");
        Console.WriteLine("|---|---:|---:|---|---:|---:|---:|---:|");
        foreach (var m in models)
            foreach (int b in a.Batches)
                foreach (var engine in new[] { "torchsharp", "onnxruntime" })
                {
                    double ms = times[(m.Name, b, engine)];
                    double speedUp = ms / times[(student, b, engine)];
                    double macRatio = (double)m.Macs / models[0].Macs;
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"| {m.Name} | {m.Macs / 1e6:F1} M | {b} | {(engine == "torchsharp" ? "TorchSharp" : "ONNX Runtime")} | {ms:F2} | {b * 1e3 / ms:F1} | {speedUp:F1}x | {macRatio:F1}x |"));
                }
    }

    /// <summary>One network in both engines.</summary>
    private sealed class Model : IDisposable
    {
        private readonly EmbeddingNetwork _network;
        private readonly InferenceSession _session;

        public Model(string name, int threads)
        {
            Name = name;
            torch.manual_seed(0);
            _network = EmbeddingNetworks.Create(name, 512);
            OnnxInferenceBenchmarks.CalibrateBatchNorm(_network);
            _network.eval();
            Macs = ModelComplexity.Measure(_network, Size, Size).Macs;
            using var stream = new MemoryStream();
            OnnxExporter.Export(_network, stream);
            using var options = new SessionOptions
            {
                IntraOpNumThreads = threads, InterOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            };
            _session = new InferenceSession(stream.ToArray(), options);
        }

        public string Name { get; }
        public long Macs { get; }

        public float Torch(Tensor images)
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            return _network.call(images).sum().item<float>();
        }

        public float Ort(DenseTensor<float> input)
        {
            using var results = _session.Run(new[] { NamedOnnxValue.CreateFromTensor(OnnxExporter.InputName, input) });
            return results[0].AsTensor<float>().Sum();
        }

        public void Dispose()
        {
            _session.Dispose();
            _network.Dispose();
        }
    }
}
