using EmbeddingDistillation.Data;
using EmbeddingDistillation.Losses;
using EmbeddingDistillation.Networks;
using EmbeddingDistillation.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Tests.Training;

/// <summary>A tiny embedding network (flatten -> Linear -> ReLU -> head Linear -> L2) for trainer tests.</summary>
internal sealed class TinyNetwork : nn.Module<Tensor, Tensor>, IEmbeddingNetwork
{
    private readonly Linear body;
    private readonly Linear head;
    public int EmbedCalls;
    public int EmbeddedImages;

    public TinyNetwork(int inputFeatures, int hidden, int dim, long seed) : base("tiny")
    {
        body = nn.Linear(inputFeatures, hidden);
        head = nn.Linear(hidden, dim);
        RegisterComponents();
        EmbeddingDimension = dim;
        SeededInit(this, seed);
    }

    /// <summary>
    /// Initialises every parameter from its own generator: tests in other classes run in parallel and reseed torch's
    /// global generator, so a seed set with manual_seed before construction does not make two networks equal.
    /// </summary>
    public static void SeededInit(nn.Module module, long seed)
    {
        var g = new torch.Generator((ulong)seed);
        using var noGrad = torch.no_grad();
        foreach (var p in module.parameters())
            p.copy_(torch.randn(p.shape, generator: g) * (1.0 / Math.Sqrt(p.shape[^1])));
    }

    public string Name => "tiny";
    public int EmbeddingDimension { get; }
    public IReadOnlyList<string> TapNames => ["body"];
    public nn.Module Module => this;

    public override Tensor forward(Tensor x) => nn.functional.normalize(head.forward(nn.functional.relu(body.forward(x.flatten(1)))), dim: 1);

    public EmbeddingOutput Embed(Tensor images, IReadOnlyCollection<string>? taps = null)
    {
        EmbedCalls++;
        EmbeddedImages += (int)images.shape[0];
        var h = nn.functional.relu(body.forward(images.flatten(1)));
        var e = nn.functional.normalize(head.forward(h), dim: 1);
        var features = new Dictionary<string, Tensor>();
        if (taps is not null && taps.Contains("body")) features["body"] = h.unsqueeze(-1).unsqueeze(-1);
        return new EmbeddingOutput(e, features);
    }
}

/// <summary>Gaussian blobs as 3x4x4 "images": class c has a fixed random mean.</summary>
internal sealed class BlobDataset : IEmbeddingDataset
{
    private readonly Tensor images;
    private readonly int[] labels;

    public BlobDataset(int classes, int perClass, int seed, bool unlabelled = false, double noise = 0.5)
    {
        var rng = new Random(seed);
        int n = classes * perClass;
        var data = new float[n * 48];
        labels = new int[n];
        var means = new float[classes, 48];
        for (int c = 0; c < classes; c++) for (int j = 0; j < 48; j++) means[c, j] = (float)(rng.NextDouble() * 2 - 1);
        for (int i = 0; i < n; i++)
        {
            int c = i % classes;
            labels[i] = unlabelled ? DatasetLabels.Unlabelled : c;
            for (int j = 0; j < 48; j++) data[i * 48 + j] = means[c, j] + (float)(noise * (rng.NextDouble() * 2 - 1));
        }
        images = torch.tensor(data, [n, 3, 4, 4]);
        images.DetachFromDisposeScope();
    }

    public string Name => "blobs";
    public int Count => labels.Length;
    public IReadOnlyList<int> Labels => labels;
    public int Loads;

    public Tensor LoadImages(IReadOnlyList<int> indices, bool augment, int seed)
    {
        Loads++;
        using var idx = torch.tensor(indices.Select(i => (long)i).ToArray());
        var batch = images.index_select(0, idx);
        if (!augment) return batch;
        var g = new torch.Generator((ulong)seed);
        return batch + 0.05f * torch.randn(batch.shape, generator: g);
    }
}

/// <summary>A deterministic P x K sampler for tests (labelled samples only).</summary>
internal sealed class SimplePkSampler(IReadOnlyList<int> labels, int p, int k, int seed, int batches) : IBatchSampler
{
    public int BatchesPerEpoch => batches;

    public IReadOnlyList<int[]> Epoch(int epoch)
    {
        var rng = new Random(seed * 7919 + epoch);
        var byClass = labels.Select((l, i) => (l, i)).Where(t => t.l >= 0).GroupBy(t => t.l).ToDictionary(g => g.Key, g => g.Select(t => t.i).ToArray());
        var classes = byClass.Keys.OrderBy(c => c).ToArray();
        var result = new List<int[]>();
        for (int b = 0; b < batches; b++)
        {
            var chosen = classes.OrderBy(_ => rng.Next()).Take(p);
            result.Add(chosen.SelectMany(c => byClass[c].OrderBy(_ => rng.Next()).Take(k)).ToArray());
        }
        return result;
    }
}

/// <summary>Sequential batches over all samples (for unlabelled data).</summary>
internal sealed class SequentialSampler(int count, int batchSize) : IBatchSampler
{
    public int BatchesPerEpoch => count / batchSize;
    public IReadOnlyList<int[]> Epoch(int epoch)
        => Enumerable.Range(0, BatchesPerEpoch).Select(b => Enumerable.Range(b * batchSize, batchSize).ToArray()).ToArray();
}

/// <summary>A simple contrastive metric loss for tests (independent of the Losses folder).</summary>
internal sealed class TestContrastive : nn.Module<Tensor, Tensor, Tensor>, IMetricLoss
{
    public TestContrastive() : base("test-contrastive") { }
    public string Name => "contrastive";
    public IEnumerable<Parameter> LearnableParameters() => [];
    public Tensor Compute(Tensor embeddings, Tensor labels) => forward(embeddings, labels);
    public override Tensor forward(Tensor e, Tensor labels)
    {
        using var scope = torch.NewDisposeScope();
        var d = (e.unsqueeze(1) - e.unsqueeze(0)).pow(2).sum(-1);
        var same = labels.unsqueeze(1).eq(labels.unsqueeze(0)).to(e.dtype);
        var loss = (same * d + (1 - same) * nn.functional.relu(1.0 - d)).mean();
        return loss.MoveToOuterDisposeScope();
    }
}

/// <summary>Embedding MSE to the teacher (test double for a distillation term).</summary>
internal sealed class TestEmbeddingMse : IDistillationLoss
{
    public string Name => "mse";
    public IReadOnlyCollection<string> StudentTaps => [];
    public IReadOnlyCollection<string> TeacherTaps => [];
    public IEnumerable<Parameter> LearnableParameters() => [];
    public int Calls;
    public Tensor Compute(EmbeddingOutput student, EmbeddingOutput teacher)
    {
        Calls++;
        return (student.Embedding - teacher.Embedding).pow(2).sum(1).mean();
    }
}

/// <summary>A validator that returns scripted Recall@1 values.</summary>
internal sealed class ScriptedValidator(params double[] values) : IValidator
{
    private int next;
    public IReadOnlyDictionary<string, double> Validate(IEmbeddingNetwork network, CancellationToken cancellationToken)
        => new Dictionary<string, double> { ["recall@1"] = values[Math.Min(next++, values.Length - 1)] };
}
