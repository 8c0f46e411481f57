using System.Diagnostics;
using EmbeddingDistillation.Networks;
using EmbeddingDistillation.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Evaluation;

/// <summary>Measures a network's inference latency per image (eval mode, no gradient) on its device.</summary>
public static class InferenceLatency
{
    /// <summary>
    /// The median over <paramref name="iterations"/> timed forward passes of a batch of <paramref name="batchSize"/>
    /// random images, divided by the batch size, in milliseconds (after <paramref name="warmup"/> untimed passes).
    /// </summary>
    /// <param name="network">The network (its training mode is restored afterwards).</param>
    /// <param name="imageSize">Input height and width.</param>
    /// <param name="batchSize">Images per forward pass (default 1).</param>
    /// <param name="iterations">Timed passes (default 20).</param>
    /// <param name="warmup">Untimed passes first (default 3).</param>
    public static double MillisecondsPerImage(IEmbeddingNetwork network, int imageSize, int batchSize = 1, int iterations = 20, int warmup = 3)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentOutOfRangeException.ThrowIfLessThan(imageSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1);
        Primitives.TorchRuntime.EnsureConfigured();
        bool wasTraining = network.Module.training;
        network.Module.eval();
        try
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var device = Devices.Of(network.Module);
            var input = randn([batchSize, 3, imageSize, imageSize], dtype: Devices.ParameterType(network.Module), device: device,
                generator: new Generator(0, device));
            var times = new double[iterations];
            for (int i = 0; i < warmup + iterations; i++)
            {
                var sw = Stopwatch.StartNew();
                using (var inner = NewDisposeScope())
                {
                    var e = network.Embed(input).Embedding;
                    if (device.type == DeviceType.CUDA) cuda.synchronize();
                    _ = e.shape;
                }
                if (i >= warmup) times[i - warmup] = sw.Elapsed.TotalMilliseconds;
            }
            Array.Sort(times);
            return times[iterations / 2] / batchSize;
        }
        finally
        {
            if (wasTraining) network.Module.train();
        }
    }
}
