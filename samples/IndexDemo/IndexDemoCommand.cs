using System.Diagnostics;
using EmbeddingDistillation.Data;
using EmbeddingDistillation.Evaluation;
using EmbeddingDistillation.Export;
using EmbeddingDistillation.Losses;
using EmbeddingDistillation.Networks;
using EmbeddingDistillation.Samples.CommandLine;
using EmbeddingDistillation.Training;
using Spectre.Console.Cli;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Samples.IndexDemo;

/// <summary>
/// A network (loaded, or trained briefly here) embeds the unseen test classes of the synthetic dataset into an
/// EmbeddingIndex; the index is saved, loaded back and queried with a few test images; the answers are drawn as a
/// grid (query, then its top-k, green = same class, red = other class).
/// </summary>
internal sealed class IndexDemoCommand : Command<IndexDemoSettings>
{
    // The sample programs against the interface: a user can pass any ITrainer (a wrapper that logs, a distributed one).
    private static readonly ITrainer _trainer = new Trainer();

    public static readonly SampleAppInfo Info = new("IndexDemo",
        "Build an exact embedding index of the synthetic test classes, query it, draw the results; or time search " +
        "with --bench. Never overwrites an existing PNG or index file without --force. Exit codes: 0 success, " +
        "1 failure during the run, 2 refused command line (nothing was run), 130 cancelled.")
    {
        Examples = [["--steps", "200", "--out", "grid.png"], ["--weights", "student.weights", "--small-stem"], ["--bench", "20000,512"]],
        Aliases = new Dictionary<string, string> { ["--k"] = "--top-k" },
    };

    public override int Execute(CommandContext context, IndexDemoSettings a, CancellationToken cancellationToken)
    {
        torch.set_num_threads(a.Threads ?? Environment.ProcessorCount);
        var metric = a.Metric.Equals("cosine", StringComparison.OrdinalIgnoreCase) ? KnnMetric.Cosine : KnnMetric.Euclidean;
        if (a.BenchSize is { } bench)
        {
            IndexBenchmark.Run(bench.N, bench.D, metric);
            return ExitCodes.Success;
        }

        var clock = Stopwatch.StartNew();
        // A smaller, calmer variant of the synthetic benchmark (100 classes x 16 images, light clutter, no occlusion) so
        // that a one-minute training gives a readable grid; the full benchmark needs far longer training.
        var data = SyntheticFineGrainedDataset.Generate(new SyntheticDatasetOptions
        {
            ClassCount = 100, ImagesPerClass = 16, MaxClutter = 2, OcclusionProbability = 0, Seed = a.Seed,
        });
        var split = ClassSplit.PaperProtocol(data.Labels, validationClassCount: 0);
        var train = data.Subset(split.TrainIndices, "train");
        var test = data.Subset(split.TestIndices, "test");
        Console.WriteLine($"synthetic dataset: {data.Count} images of {data.Width} px; train {train.Count} ({split.TrainClasses.Count} classes), " +
                          $"index {test.Count} ({split.TestClasses.Count} unseen classes)");

        var network = Network(a, split, train, cancellationToken);

        // Build, save, load: the demo queries the loaded copy, as a deployed service would.
        var sw = Stopwatch.StartNew();
        var names = test.ParentIndices.Select(i => $"synthetic/{i:D4}").ToArray();
        using (var built = EmbeddingIndex.Build(network, test, names: names, options: new EmbeddingIndexOptions { Metric = metric }, cancellationToken: cancellationToken))
        {
            Console.WriteLine($"index: {built.Count} x {built.Dimension} {metric} built in {sw.Elapsed.TotalSeconds:F2} s");
            using var labels = tensor(test.Labels.Select(l => (long)l).ToArray());
            var recall = RetrievalMetrics.RecallAtK(built.Embeddings, labels, 1, 2, 4, 8);
            Console.WriteLine("test classes: " + string.Join("  ", recall.Select(kv => $"Recall@{kv.Key} {kv.Value:P1}")));
            built.Save(a.IndexFile);
            Console.WriteLine($"saved {a.IndexFile} ({new FileInfo(a.IndexFile).Length:N0} bytes)");
        }
        using var index = EmbeddingIndex.Load(a.IndexFile);

        // Queries: test images of distinct classes, chosen by the seed; the grid marks each result green or red.
        sw.Restart();
        var (correct, total) = RetrievalGrid.Write(a.Out, network, index, test, data, a.Queries, a.K, a.Seed,
            data.DescribeClass);
        Console.WriteLine($"searched and drew {a.Queries} queries in {sw.Elapsed.TotalMilliseconds:F0} ms: {correct} of {total} results of the query's class");
        Console.WriteLine($"wrote {Path.GetFullPath(a.Out)} ({clock.Elapsed.TotalSeconds:F1} s in total)");
        return ExitCodes.Success;
    }

    /// <summary>The network to index: loaded from --weights, or trained here for --steps steps.</summary>
    private static IEmbeddingNetwork Network(IndexDemoSettings a, ClassSplit split, DatasetView train, CancellationToken cancellationToken)
    {
        // A checkpoint may have been trained at 224 px with the normal stem; training here uses 32 px images.
        var networkOptions = new EmbeddingNetworkOptions { SmallInputStem = a.SmallStem || a.Weights is null };
        var network = EmbeddingNetworks.Create(a.Network, a.EmbeddingDimension, networkOptions);
        if (a.Weights is not null)
        {
            NetworkCheckpoint.Load(network, a.Weights);
            Console.WriteLine($"loaded {network.Name} from {a.Weights}");
            return network;
        }
        if (a.Steps == 0) return network;
        torch.manual_seed(a.Seed);
        var result = ConsoleProgress.Run($"training {network.Name}", progress => _trainer.Fit(
            network,
            // Proxy-anchor learns from scratch in a few hundred steps where batch-hard triplet still collapses; its
            // proxies (one per training class, labels 0..49) learn 100x faster, as in Kim et al. 2020.
            TrainingObjective.MetricOnly(new ProxyAnchorLoss(new ProxyAnchorLossOptions { ClassCount = split.TrainClasses.Max() + 1, EmbeddingDimension = a.EmbeddingDimension })),
            new TrainingData { Train = train, Sampler = new ClassBalancedSampler(train.Labels, new ClassBalancedSamplerOptions { Seed = a.Seed }) },
            new TrainingOptions { Epochs = 1000, MaxSteps = a.Steps, LearningRate = 1e-3, LossParameterLearningRateMultiplier = 100, Seed = a.Seed },
            progress, cancellationToken));
        cancellationToken.ThrowIfCancellationRequested();
        Console.WriteLine($"trained {result.Steps} steps in {result.Elapsed.TotalSeconds:F1} s ({result.ImagesPerSecond:F0} img/s)");
        return network;
    }
}
