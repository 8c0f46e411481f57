using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using EmbeddingDistillation.Export;
using EmbeddingDistillation.Networks;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace EmbeddingDistillation.Benchmarks.Export;

/// <summary>
/// Latency of one 224 px image through the paper's student (MobileNetV1-0.25, 512-d, L2-normalised) in ONNX
/// Runtime (the exported model, BN folded) and in TorchSharp (eval, no_grad), both on the same number of threads (2, and 1 for comparison):
/// <c>dotnet run -c Release --project benchmarks/EmbeddingDistillation.Benchmarks -- --filter '*OnnxInference*'</c>.
/// </summary>
[Config(typeof(ShortInProcessConfig))]
[MemoryDiagnoser(displayGenColumns: false)]
public class OnnxInferenceBenchmarks
{
    // In process: the build step that makes TorchSharp load on Debian 12 patches this project's output, not the
    // separate project BenchmarkDotNet would generate.
    private sealed class ShortInProcessConfig : ManualConfig
    {
        public ShortInProcessConfig() => AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance));
    }

    private const int Size = 224;

    /// <summary>Intra-op threads of both engines (the task's setting is 2; 1 shows the effect of a busy machine).</summary>
    [Params(2, 1)]
    public int Threads { get; set; }

    private EmbeddingNetwork network = null!;
    private Tensor image = null!;
    private InferenceSession session = null!;
    private DenseTensor<float> input = null!;

    /// <summary>Builds the student, calibrates its BN statistics, exports it and opens the ORT session.</summary>
    [GlobalSetup]
    public void Setup()
    {
        torch.set_num_threads(Threads);
        network = EmbeddingNetworks.MobileNetV1(0.25, 512);
        CalibrateBatchNorm(network);
        network.eval();
        image = randn(new long[] { 1, 3, Size, Size }, generator: new Generator(42));

        using var stream = new MemoryStream();
        OnnxExporter.Export(network, stream);
        using var options = new SessionOptions
        {
            IntraOpNumThreads = Threads,
            InterOpNumThreads = 1,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        session = new InferenceSession(stream.ToArray(), options);
        input = new DenseTensor<float>(image.data<float>().ToArray(), new[] { 1, 3, Size, Size });

        // Sanity check: both engines compute the same embedding.
        var torchOut = TorchSharpEmbed();
        var ortOut = OnnxRuntimeEmbed();
        double diff = torchOut.Zip(ortOut, (a, b) => Math.Abs(a - b)).Max();
        Console.WriteLine($"// max |TorchSharp - ONNX Runtime| = {diff:E2}");
    }

    /// <summary>Releases the session and the network.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        session.Dispose();
        image.Dispose();
        network.Dispose();
    }

    /// <summary>TorchSharp eval-mode forward under no_grad.</summary>
    [Benchmark(Baseline = true)]
    public float[] TorchSharpEmbed()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return network.call(image).data<float>().ToArray();
    }

    /// <summary>ONNX Runtime CPU session on the exported model.</summary>
    [Benchmark]
    public float[] OnnxRuntimeEmbed()
    {
        using var results = session.Run(new[] { NamedOnnxValue.CreateFromTensor(OnnxExporter.InputName, input) });
        return results[0].AsTensor<float>().ToArray();
    }

    // A freshly initialised MobileNet in eval mode shrinks activations by orders of magnitude (towards denormals,
    // which would distort timings); two train-mode passes with momentum 1 give realistic running statistics.
    internal static void CalibrateBatchNorm(EmbeddingNetwork net)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var bns = net.named_modules().Select(m => m.module).OfType<BatchNorm2d>().ToArray();
        foreach (var bn in bns) bn.momentum = 1.0;
        net.train();
        for (int i = 0; i < 2; i++) net.call(randn(new long[] { 4, 3, Size, Size }, generator: new Generator((ulong)i)));
        foreach (var bn in bns) bn.momentum = 0.1;
    }
}
