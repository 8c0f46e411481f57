using EmbeddingDistillation.Export;
using EmbeddingDistillation.Networks;
using TorchSharp;
using Xunit.Abstractions;
using static EmbeddingDistillation.Tests.Export.OnnxTestUtil;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Tests.Export;

/// <summary>Runs only when <see cref="PyTorchInteropFilesTests.DirectoryVariable"/> names a folder; skipped otherwise.</summary>
public sealed class PyTorchInteropFactAttribute : FactAttribute
{
    public PyTorchInteropFactAttribute()
    {
        if (string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(PyTorchInteropFilesTests.DirectoryVariable)))
            Skip = $"Writes the input of compare_exported.py; set {PyTorchInteropFilesTests.DirectoryVariable} to a folder to run it.";
    }
}

/// <summary>
/// Writes the files that <c>compare_exported.py</c> (next to this file, run with Debian's <c>/usr/bin/python3</c>,
/// PyTorch 1.13 + torchvision 0.14) loads into torchvision's models: for each case <c>case.safetensors</c> and
/// <c>case.pth</c> from <see cref="PyTorchExporter"/>, and <c>case.io.safetensors</c> with a fixed input
/// <c>input</c> [4, 3, H, W] and TorchSharp's eval-mode embedding <c>embedding</c> [4, D]. Full-width networks
/// (base width 64, MobileNetV2 1.0) so that torchvision's own constructors apply; small images keep it cheap.
/// </summary>
public class PyTorchInteropFilesTests(ITestOutputHelper output)
{
    public const string DirectoryVariable = "ED_PYTORCH_EXPORT_DIR";

    [PyTorchInteropFact]
    public void WriteFilesForThePythonComparison()
    {
        var folder = Environment.GetEnvironmentVariable(DirectoryVariable)!;
        Directory.CreateDirectory(folder);
        var cases = new (string Name, Func<EmbeddingNetwork> Build, int Size)[]
        {
            ("resnet18", () => EmbeddingNetworks.ResNet18(128), 64),
            ("resnet18-small-stem-raw", () => EmbeddingNetworks.ResNet18(64, new EmbeddingNetworkOptions { SmallInputStem = true, Normalize = false }), 32),
            ("resnet50", () => EmbeddingNetworks.ResNet50(128), 64),
            ("mobilenetv2-1.0", () => EmbeddingNetworks.MobileNetV2(1.0, 128), 64),
            ("mobilenetv2-0.5-small-stem", () => EmbeddingNetworks.MobileNetV2(0.5, 64, new EmbeddingNetworkOptions { SmallInputStem = true }), 32),
            ("mobilenetv1-0.25-small-stem", () => EmbeddingNetworks.MobileNetV1(0.25, 64, new EmbeddingNetworkOptions { SmallInputStem = true }), 32),
        };
        for (int i = 0; i < cases.Length; i++)
        {
            var (name, build, size) = cases[i];
            using var scope = NewDisposeScope();
            using var net = build();
            RandomizeBatchNorm(net, size, seed: 100 + i);
            var images = Images(4, size, seed: 200 + i);
            Tensor embedding;
            using (no_grad())
            {
                net.eval();
                embedding = net.call(images);
            }
            var st = PyTorchExporter.Export(net, Path.Combine(folder, name + ".safetensors"));
            var pth = PyTorchExporter.Export(net, Path.Combine(folder, name + ".pth"));
            var io = new Dictionary<string, Tensor> { ["input"] = images.contiguous(), ["embedding"] = embedding.contiguous() };
            using (var file = File.Create(Path.Combine(folder, name + ".io.safetensors")))
                SafetensorsWriter.Write(file, io, new Dictionary<string, string> { ["network"] = net.Name });
            output.WriteLine($"{name}: {st.Keys.Count} tensors, {st.Bytes:N0} bytes (.safetensors), {pth.Bytes:N0} bytes (.pth)");
        }
    }
}
