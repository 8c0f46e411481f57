using System.Diagnostics;
using EmbeddingDistillation.Data;
using EmbeddingDistillation.Evaluation;
using EmbeddingDistillation.Export;
using EmbeddingDistillation.Losses;
using EmbeddingDistillation.Networks;
using EmbeddingDistillation.Samples;
using EmbeddingDistillation.Samples.IndexDemo;
using EmbeddingDistillation.Training;
using TorchSharp;
using static TorchSharp.torch;

// Index demo: a network (loaded, or trained briefly here) embeds the unseen test classes of the synthetic dataset
// into an EmbeddingIndex; the index is saved, loaded back and queried with a few test images; the answers are
// drawn as a grid (query, then its top-k, green = same class, red = other class).
DemoArguments a;
try
{
    a = DemoArguments.Parse(args);
}
catch (OperationCanceledException help)
{
    Console.WriteLine(help.Message);
    return 0;
}
catch (Exception ex) when (ex is ArgumentException or FormatException)
{
    Console.Error.WriteLine(ex.Message);
    return 2;
}
torch.set_num_threads(a.Threads);
var metric = a.Metric == "cosine" ? KnnMetric.Cosine : KnnMetric.Euclidean;
if (a.Bench is { } bench)
{
    IndexBenchmark.Run(bench.N, bench.D, metric);
    return 0;
}

var clock = Stopwatch.StartNew();
// A smaller, calmer variant of the synthetic benchmark (100 classes x 16 images, light clutter, no occlusion) so that a
// one-minute training gives a readable grid; the full benchmark needs far longer training (docs/synthetic-dataset.md).
var data = SyntheticFineGrainedDataset.Generate(new SyntheticDatasetOptions
{
    ClassCount = 100, ImagesPerClass = 16, MaxClutter = 2, OcclusionProbability = 0, Seed = a.Seed,
});
var split = ClassSplit.PaperProtocol(data.Labels, validationClassCount: 0);
var train = data.Subset(split.TrainIndices, "train");
var test = data.Subset(split.TestIndices, "test");
Console.WriteLine($"synthetic dataset: {data.Count} images of {data.Width} px; train {train.Count} ({split.TrainClasses.Count} classes), " +
                  $"index {test.Count} ({split.TestClasses.Count} unseen classes)");

// A checkpoint may have been trained at 224 px with the normal stem; training here uses 32 px images.
var networkOptions = new EmbeddingNetworkOptions { SmallInputStem = a.SmallStem || a.Weights is null };
var network = EmbeddingNetworks.Create(a.Network, a.EmbeddingDimension, networkOptions);
if (a.Weights is not null)
{
    NetworkCheckpoint.Load(network, a.Weights);
    Console.WriteLine($"loaded {network.Name} from {a.Weights}");
}
else if (a.Steps > 0)
{
    torch.manual_seed(a.Seed);
    var result = ConsoleProgress.Run($"training {network.Name}", progress => new Trainer().Fit(
        network,
        // Proxy-anchor learns from scratch in a few hundred steps where batch-hard triplet still collapses; its
        // proxies (one per training class, labels 0..49) learn 100x faster, as in Kim et al. 2020.
        TrainingObjective.MetricOnly(new ProxyAnchorLoss(split.TrainClasses.Max() + 1, a.EmbeddingDimension)),
        new TrainingData { Train = train, Sampler = new ClassBalancedSampler(train.Labels, new ClassBalancedSamplerOptions { Seed = a.Seed }) },
        new TrainingOptions { Epochs = 1000, MaxSteps = a.Steps, LearningRate = 1e-3, LossParameterLearningRateMultiplier = 100, Seed = a.Seed },
        progress));
    Console.WriteLine($"trained {result.Steps} steps in {result.Elapsed.TotalSeconds:F1} s ({result.ImagesPerSecond:F0} img/s)");
}

// Build, save, load: the demo queries the loaded copy, as a deployed service would.
var sw = Stopwatch.StartNew();
var names = test.ParentIndices.Select(i => $"synthetic/{i:D4}").ToArray();
using (var built = EmbeddingIndex.Build(network, test, names: names, options: new EmbeddingIndexOptions { Metric = metric }))
{
    Console.WriteLine($"index: {built.Count} x {built.Dimension} {metric} built in {sw.Elapsed.TotalSeconds:F2} s");
    using var labels = tensor(test.Labels.Select(l => (long)l).ToArray());
    var recall = RetrievalMetrics.RecallAtK(built.Embeddings, labels, 1, 2, 4, 8);
    Console.WriteLine("test classes: " + string.Join("  ", recall.Select(kv => $"Recall@{kv.Key} {kv.Value:P1}")));
    var indexPath = a.IndexPath ?? Path.ChangeExtension(a.Out, ".edidx");
    built.Save(indexPath);
    Console.WriteLine($"saved {indexPath} ({new FileInfo(indexPath).Length:N0} bytes)");
}
using var index = EmbeddingIndex.Load(a.IndexPath ?? Path.ChangeExtension(a.Out, ".edidx"));

// Queries: test images of distinct classes, chosen by the seed; the grid marks each result green or red.
sw.Restart();
var (correct, total) = RetrievalGrid.Write(a.Out, network, index, test, data, a.Queries, a.K, a.Seed,
    label => data.Classes[label].ToString());
Console.WriteLine($"searched and drew {a.Queries} queries in {sw.Elapsed.TotalMilliseconds:F0} ms: {correct} of {total} results of the query's class");
Console.WriteLine($"wrote {Path.GetFullPath(a.Out)} ({clock.Elapsed.TotalSeconds:F1} s in total)");
return 0;
