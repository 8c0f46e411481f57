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

// Queries: test images of distinct classes, chosen by the seed. They are in the index themselves, so ask for one
// more hit and drop the query's own entry.
var random = new Random(a.Seed);
var queryRows = test.Labels.Select((label, row) => (label, row)).GroupBy(x => x.label)
    .OrderBy(_ => random.Next()).Take(a.Queries).Select(g => g.ElementAt(random.Next(g.Count())).row).ToArray();
sw.Restart();
var answers = index.Search(network, test.Subset(queryRows), a.K + 1);
Console.WriteLine($"searched {queryRows.Length} queries (embedding included) in {sw.Elapsed.TotalMilliseconds:F0} ms");

var plane = 3 * data.Height * data.Width;
byte[] Pixels(int parentIndex) => data.Pixels.Slice(parentIndex * plane, plane).ToArray();
var rows = new List<GridRow>();
var correct = 0;
for (var q = 0; q < queryRows.Length; q++)
{
    var queryLabel = test.Labels[queryRows[q]];
    var hits = answers[q].Where(h => h.Id != queryRows[q]).Take(a.K)
        .Select(h =>
        {
            var label = test.Labels[(int)h.Id];
            if (label == queryLabel) correct++;
            return (Pixels(test.ParentIndices[(int)h.Id]), $"c{label} d={h.Distance:F2}", label == queryLabel);
        }).ToArray();
    rows.Add(new GridRow(Pixels(test.ParentIndices[queryRows[q]]), $"query c{queryLabel}", hits));
    Console.WriteLine($"  query {names[queryRows[q]]} (class {queryLabel}, {data.Classes[queryLabel]}): " +
                      string.Join(", ", hits.Select(h => h.Item2 + (h.Item3 ? " +" : " -"))));
}
var title = $"{network.Name}, {metric} index of {index.Count} test images: {correct} of {rows.Sum(r => r.Hits.Count)} hits of the query's class";
IndexGrid.Save(a.Out, rows, data.Width, title);
Console.WriteLine($"wrote {Path.GetFullPath(a.Out)} ({clock.Elapsed.TotalSeconds:F1} s in total)");
return 0;
