// A throwaway application that uses the packed EmbeddingDistillation.Onnx (plus the CPU ONNX Runtime it chooses):
// it exports a tiny network with the core's ONNX exporter, loads the file as an OnnxTeacher and checks that both embed
// alike. build/check-packages.sh builds and runs it against the local package feed.
using EmbeddingDistillation.Export;
using EmbeddingDistillation.Networks;
using EmbeddingDistillation.Onnx;
using TorchSharp;

torch.manual_seed(0);
var network = EmbeddingNetworks.Create("resnet18", 8, new EmbeddingNetworkOptions { SmallInputStem = true, BaseWidth = 4 });
network.Module.eval();
var path = Path.Combine(Path.GetTempPath(), $"ed-onnx-consumer-{Environment.ProcessId}.onnx");
try
{
    OnnxExporter.Export(network, path, new OnnxExportOptions { InputHeight = 32, InputWidth = 32 });
    using var teacher = new OnnxTeacher(path);
    using var noGrad = torch.no_grad();
    var images = torch.randn(3, 3, 32, 32);
    using var fromOnnx = teacher.Embed(images);
    using var fromTorch = network.Embed(images);
    var diff = (fromOnnx.Embedding - fromTorch.Embedding).abs().max().item<float>();
    Console.WriteLine($"{teacher}: max abs diff vs TorchSharp {diff:E2}");
    if (!(diff <= 1e-5)) return 1;
    Console.WriteLine("ONNX CONSUMER OK");
    return 0;
}
finally
{
    File.Delete(path);
}
