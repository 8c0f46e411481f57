using EmbeddingDistillation.Data;
using EmbeddingDistillation.Evaluation;
using EmbeddingDistillation.Networks;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Tests.Evaluation;

public class EmbeddingExtractorTests
{
    /// <summary>Images [B, 3, 2, 2] whose pixels all equal the sample index; records how it was called.</summary>
    private sealed class IndexDataset(int count) : IEmbeddingDataset
    {
        public string Name => "index";
        public int Count => count;
        public IReadOnlyList<int> Labels { get; } = Enumerable.Range(0, count).Select(i => i % 3).ToArray();
        public List<(int[] Indices, bool Augment, int Seed)> Calls { get; } = [];

        public Tensor LoadImages(IReadOnlyList<int> indices, bool augment, int seed)
        {
            Calls.Add((indices.ToArray(), augment, seed));
            var values = indices.Select(i => (float)i).ToArray();
            return tensor(values).view(-1, 1, 1, 1).expand(-1, 3, 2, 2).contiguous();
        }
    }

    /// <summary>Linear map of the flattened image; records the mode and gradient state seen by every call.</summary>
    private sealed class LinearNetwork : IEmbeddingNetwork
    {
        private readonly nn.Module<Tensor, Tensor> _linear = nn.Linear(12, 4, dtype: ScalarType.Float64);
        public string Name => "linear";
        public int EmbeddingDimension => 4;
        public IReadOnlyList<string> TapNames => [];
        public nn.Module Module => _linear;
        public List<(bool Training, bool Grad, ScalarType Dtype)> Seen { get; } = [];

        public EmbeddingOutput Embed(Tensor images, IReadOnlyCollection<string>? taps = null)
        {
            Seen.Add((_linear.training, is_grad_enabled(), images.dtype));
            return new EmbeddingOutput(_linear.call(images.flatten(1)));
        }

        public Tensor Reference(Tensor images)
        {
            using var noGrad = no_grad();
            return _linear.call(images.flatten(1)).to(ScalarType.Float32);
        }
    }

    [Fact]
    public void EmbedsInOrderInEvalModeWithoutGradientAndRestoresTraining()
    {
        var dataset = new IndexDataset(10);
        var network = new LinearNetwork();
        network.Module.train();
        using var result = EmbeddingExtractor.Extract(network, dataset, batchSize: 4);

        Assert.True(network.Module.training);                      // restored
        Assert.Equal(3, network.Seen.Count);                       // 4 + 4 + 2
        Assert.All(network.Seen, s => Assert.False(s.Training));
        Assert.All(network.Seen, s => Assert.False(s.Grad));
        Assert.All(network.Seen, s => Assert.Equal(ScalarType.Float64, s.Dtype)); // moved to the parameters' dtype
        Assert.All(dataset.Calls, c => Assert.False(c.Augment));
        Assert.All(dataset.Calls, c => Assert.Equal(0, c.Seed));
        Assert.Equal(new[] { 8, 9 }, dataset.Calls[2].Indices);

        Assert.Equal(ScalarType.Float32, result.Embeddings.dtype);
        Assert.Equal(DeviceType.CPU, result.Embeddings.device_type);
        Assert.Equal(new long[] { 10, 4 }, result.Embeddings.shape);
        Assert.Equal(new long[] { 0, 1, 2, 0, 1, 2, 0, 1, 2, 0 }, result.Labels.data<long>().ToArray());
        var expected = network.Reference(dataset.LoadImages(Enumerable.Range(0, 10).ToArray(), false, 0).to(ScalarType.Float64));
        Assert.True(result.Embeddings.allclose(expected, rtol: 1e-6, atol: 1e-6));
    }

    [Fact]
    public void KeepsEvalModeAndRestoresOnCancellation()
    {
        var network = new LinearNetwork();
        network.Module.eval();
        using (EmbeddingExtractor.Extract(network, new IndexDataset(3))) { }
        Assert.False(network.Module.training);

        network.Module.train();
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.Throws<OperationCanceledException>(() => EmbeddingExtractor.Extract(network, new IndexDataset(3), 2, cts.Token));
        Assert.True(network.Module.training);
    }

    [Fact]
    public void BadArgumentsThrow()
    {
        var network = new LinearNetwork();
        Assert.Throws<ArgumentOutOfRangeException>(() => EmbeddingExtractor.Extract(network, new IndexDataset(3), 0));
        Assert.Throws<ArgumentException>(() => EmbeddingExtractor.Extract(network, new IndexDataset(0)));
    }
}
