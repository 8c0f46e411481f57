using EmbeddingDistillation.Evaluation;
using EmbeddingDistillation.Networks;
using TorchSharp;
using static TorchSharp.torch;

// Interim main job (until the trainer-based quickstart lands): build the paper's teacher and student, embed a
// batch, and show what compression buys.
torch.set_num_threads(Environment.ProcessorCount);
var device = Devices.Pick("auto");
Console.WriteLine($"EmbeddingDistillation quickstart on {device}");
foreach (var (role, net) in new (string, EmbeddingNetwork)[]
{
    ("teacher", EmbeddingNetworks.ResNet101(512)),
    ("student", EmbeddingNetworks.MobileNetV1(0.25, 512)),
})
{
    net.to(device);
    net.eval();
    var complexity = ModelComplexity.Measure(net, 224, 224);
    using (var scope = NewDisposeScope())
    using (no_grad())
    {
        var images = randn(4, 3, 224, 224, device: device);
        var output = net.Embed(images);
        var norms = output.Embedding.norm(1).cpu().data<float>().ToArray();
        Console.WriteLine($"{role,-8} {net.Name,-22} embedding [{string.Join(", ", output.Embedding.shape)}] (norms {norms.Min():F3}..{norms.Max():F3})");
    }
    var latency = InferenceLatency.MillisecondsPerImage(net, 224, batchSize: 1, iterations: 5, warmup: 1);
    Console.WriteLine($"         parameters {complexity.Parameters:N0}, MACs {complexity.Macs:N0} at 224 px, CPU latency {latency:F1} ms/image");
}
