using System.Diagnostics;
using System.Globalization;
using EmbeddingDistillation.Networks;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Benchmarks.Training;

/// <summary>
/// Times every top-level layer of a backbone (forward, and forward + backward with a random output gradient),
/// in training mode, minimum over rounds. The PyTorch twin is <c>benchmarks/pytorch/train_step.py --layers</c>.
/// <c>dotnet run -c Release --project benchmarks/EmbeddingDistillation.Benchmarks -- layers --net mobilenetv2 --size 224 --batch 32 --threads 1</c>.
/// </summary>
internal static class LayerProfile
{
    public static int Run(StepArgs a)
    {
        torch.set_num_threads(a.Threads);
        if (!a.DefaultMalloc) Primitives.NativeHeap.KeepFreedMemory(); // as Trainer.Fit: otherwise page faults dominate at 224 px
        torch.manual_seed(0);
        var net = EmbeddingNetworks.Create(a.Nets[0], 512);
        net.train();
        var layers = TopLevelLayers(net);
        int size = a.Sizes[0];
        var x0 = randn(a.Batch, 3, size, size);
        var inputs = new List<Tensor>();
        using (no_grad())
        {
            var x = x0;
            foreach (var (_, m) in layers) { inputs.Add(x); x = m.call(x); }
        }
        var fwd = Enumerable.Repeat(double.MaxValue, layers.Count).ToArray();
        var both = Enumerable.Repeat(double.MaxValue, layers.Count).ToArray();
        for (int r = 0; r < a.Rounds; r++)
        {
            for (int i = 0; i < layers.Count; i++)
            {
                using var scope = NewDisposeScope();
                var xin = inputs[i].detach().requires_grad_(i > 0);
                var sw = Stopwatch.StartNew();
                var y = layers[i].Module.call(xin);
                double f = sw.Elapsed.TotalMilliseconds;
                var g = ones_like(y);
                sw.Restart();
                y.backward(new[] { g });
                double b = sw.Elapsed.TotalMilliseconds;
                fwd[i] = Math.Min(fwd[i], f);
                both[i] = Math.Min(both[i], f + b);
                foreach (var p in net.parameters()) p.grad?.zero_();
            }
        }
        Console.WriteLine("layer,shape_in,forward_ms,forward_backward_ms");
        for (int i = 0; i < layers.Count; i++)
            Console.WriteLine(string.Join(",", layers[i].Name, string.Join("x", inputs[i].shape),
                fwd[i].ToString("F2", CultureInfo.InvariantCulture), both[i].ToString("F2", CultureInfo.InvariantCulture)));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"total,,{fwd.Sum():F2},{both.Sum():F2}"));
        return 0;
    }

    /// <summary>The backbone's top-level layers: <c>features.N</c> for MobileNets, stem and layerN for ResNets.</summary>
    private static List<(string Name, nn.Module<Tensor, Tensor> Module)> TopLevelLayers(EmbeddingNetwork net)
    {
        var backbone = net.Backbone;
        var list = new List<(string, nn.Module<Tensor, Tensor>)>();
        var children = backbone.named_children().ToDictionary(c => c.name, c => c.module);
        if (children.TryGetValue("features", out var features))
            foreach (var (n, m) in features.named_children()) list.Add(($"features.{n}", (nn.Module<Tensor, Tensor>)m));
        else if (children.ContainsKey("layer1"))
        {
            // ResNet (torchvision stem): conv1-bn1-relu-maxpool as one layer, then the four stages.
            var stem = nn.Sequential(new[] { "conv1", "bn1", "relu", "maxpool" }.Select(k => (k, (nn.Module<Tensor, Tensor>)children[k])));
            list.Add(("stem", stem));
            foreach (var k in new[] { "layer1", "layer2", "layer3", "layer4" }) list.Add((k, (nn.Module<Tensor, Tensor>)children[k]));
        }
        else list.Add(("backbone", backbone));
        return list;
    }
}
