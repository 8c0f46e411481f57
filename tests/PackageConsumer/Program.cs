// A throwaway application that uses the packed EmbeddingDistillation through its public API only: it trains a
// tiny teacher, distils it into a tiny student with the paper's absolute and relative teacher terms, and prints
// Recall@K on held-out classes. build/check-packages.sh builds and runs it against the local package feed.
using System.Diagnostics;
using EmbeddingDistillation.Data;
using EmbeddingDistillation.Evaluation;
using EmbeddingDistillation.Export;
using EmbeddingDistillation.Losses;
using EmbeddingDistillation.Networks;
using EmbeddingDistillation.Training;
using TorchSharp;

var clock = Stopwatch.StartNew();
torch.set_num_threads(Math.Max(1, Environment.ProcessorCount));
torch.manual_seed(0);

var data = SyntheticFineGrainedDataset.Generate(new SyntheticDatasetOptions { ClassCount = 16, ImagesPerClass = 16, ImageSize = 32 });
var split = ClassSplit.PaperProtocol(data.Labels, validationClassCount: 0);
var train = data.Subset(split.TrainIndices, "train");
var test = data.Subset(split.TestIndices, "test");
var small = new EmbeddingNetworkOptions { SmallInputStem = true };
var teacher = EmbeddingNetworks.ResNet18(32, small with { BaseWidth = 8 });
var student = EmbeddingNetworks.MobileNetV1(0.25, 32, small);
var trainingData = new TrainingData { Train = train, Sampler = new ClassBalancedSampler(train.Labels) };
var options = new TrainingOptions { Epochs = 100, MaxSteps = 30, LearningRate = 1e-3 };

var trainer = new Trainer();
trainer.Fit(teacher, TrainingObjective.MetricOnly(new TripletLoss()), trainingData, options);
var objective = TrainingObjective.Distillation(new TripletLoss(), teacher,
    new WeightedDistillationTerm(new AbsoluteTeacherLoss(), 1.0),
    new WeightedDistillationTerm(new RelativeTeacherLoss(), 0.3));
var result = trainer.Fit(student, objective, trainingData, options);

foreach (var (role, network) in new (string, IEmbeddingNetwork)[] { ("teacher", teacher), ("student", student) })
{
    using var embedded = EmbeddingExtractor.Extract(network, test);
    var recall = RetrievalMetrics.RecallAtK(embedded.Embeddings, embedded.Labels, 1, 2, 4, 8);
    if (recall.Values.Any(r => !(r >= 0 && r <= 1))) throw new InvalidOperationException($"{role}: recall out of [0, 1].");
    Console.WriteLine($"{role} {network.Name}: " + string.Join("  ", recall.Select(kv => $"recall@{kv.Key} {kv.Value:P1}")));
}

// The deployment path: an index of the test classes, saved, loaded and queried; the loaded index must answer
// exactly like the one in memory.
var path = Path.Combine(Path.GetTempPath(), $"consumer-{Guid.NewGuid():N}.edidx");
var queries = test.Subset([0, 1, 2]);
using (var index = EmbeddingIndex.Build(student, test))
using (var embeddedQueries = EmbeddingExtractor.Extract(student, queries))
{
    index.Save(path);
    using var loaded = EmbeddingIndex.Load(path);
    var before = index.Search(embeddedQueries.Embeddings, 3).SelectMany(h => h).ToArray();
    var after = loaded.Search(embeddedQueries.Embeddings, 3).SelectMany(h => h).ToArray();
    if (!before.SequenceEqual(after)) throw new InvalidOperationException("The loaded index answers differently from the saved one.");
    Console.WriteLine($"index: {loaded.Count} x {loaded.Dimension} saved, loaded and searched ({new FileInfo(path).Length:N0} bytes)");
}
File.Delete(path);
Console.WriteLine($"student trained {result.Steps} steps; total {clock.Elapsed.TotalSeconds:F1} s");
Console.WriteLine("PACKAGE CONSUMER OK");
