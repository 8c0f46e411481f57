using EmbeddingDistillation.Export;
using EmbeddingDistillation.Networks;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Tensor = TorchSharp.torch.Tensor;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Tests.Export;

/// <summary>Helpers: realistic BN statistics, ONNX Runtime sessions, comparisons.</summary>
internal static class OnnxTestUtil
{
    public static Tensor Images(int n, int size, long seed, ScalarType dtype = ScalarType.Float32)
        => randn(new long[] { n, 3, size, size }, dtype: dtype, generator: new Generator((ulong)seed));

    /// <summary>
    /// Gives every BatchNorm2d non-trivial affine parameters and running statistics, so that folding is really
    /// exercised: random gamma/beta, then two train-mode forwards with momentum 1 (running stats = the last
    /// batch's, which keeps eval-mode activations at a healthy scale). The module is left in train mode.
    /// </summary>
    public static void RandomizeBatchNorm(nn.Module<Tensor, Tensor> network, int size, long seed)
    {
        using var scope = NewDisposeScope();
        var g = new Generator((ulong)seed + 1000);
        var dtype = network.parameters().First().dtype;
        using (no_grad())
        {
            foreach (var (_, m) in network.named_modules())
            {
                if (m is not BatchNorm2d bn) continue;
                bn.momentum = 1.0;
                bn.weight!.copy_(rand(bn.weight.shape, dtype: dtype, generator: g) + 0.5);
                bn.bias!.copy_(randn(bn.bias.shape, dtype: dtype, generator: g) * 0.2);
            }
            network.train();
            for (int i = 0; i < 2; i++) network.call(Images(4, size, seed + 100 + i, dtype));
        }
        foreach (var (_, m) in network.named_modules())
            if (m is BatchNorm2d bn) bn.momentum = 0.1;
    }

    /// <summary>TorchSharp's eval-mode output as a flat float array, [n, D].</summary>
    public static float[] TorchOutput(nn.Module<Tensor, Tensor> network, Tensor images)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        bool wasTraining = network.training;
        network.eval();
        try
        {
            return network.call(images).to(ScalarType.Float32).contiguous().data<float>().ToArray();
        }
        finally
        {
            network.train(wasTraining);
        }
    }

    public static InferenceSession Session(byte[] model)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1 };
        return new InferenceSession(model, options);
    }

    public static (float[] Values, int[] Shape) Run(InferenceSession session, Tensor images)
    {
        float[] data;
        using (var scope = NewDisposeScope())
            data = images.to(ScalarType.Float32).contiguous().data<float>().ToArray();
        var input = new DenseTensor<float>(data, images.shape.Select(d => (int)d).ToArray());
        using var results = session.Run(new[] { NamedOnnxValue.CreateFromTensor(OnnxExporter.InputName, input) });
        var output = results.Single(r => r.Name == OnnxExporter.OutputName).AsTensor<float>();
        return (output.ToArray(), output.Dimensions.ToArray());
    }

    public static byte[] ExportToBytes(EmbeddingNetwork network, OnnxExportOptions? options = null)
    {
        using var stream = new MemoryStream();
        OnnxExporter.Export(network, stream, options);
        return stream.ToArray();
    }

    public static double MaxAbsDiff(float[] a, float[] b)
    {
        Assert.Equal(a.Length, b.Length);
        double max = 0;
        for (int i = 0; i < a.Length; i++) max = Math.Max(max, Math.Abs((double)a[i] - b[i]));
        return max;
    }

    /// <summary>Rows L2-normalised (for comparing unnormalised embeddings by direction).</summary>
    public static float[] NormalizeRows(float[] values, int dim)
    {
        var result = new float[values.Length];
        for (int r = 0; r < values.Length / dim; r++)
        {
            double sum = 0;
            for (int j = 0; j < dim; j++) sum += (double)values[r * dim + j] * values[r * dim + j];
            double norm = Math.Max(Math.Sqrt(sum), 1e-12);
            for (int j = 0; j < dim; j++) result[r * dim + j] = (float)(values[r * dim + j] / norm);
        }
        return result;
    }

    public static int CountModules<T>(nn.Module module) => module.named_modules().Count(m => m.module is T);
}
