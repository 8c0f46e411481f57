using EmbeddingDistillation.Samples;
using EmbeddingDistillation.Vision;
using EmbeddingDistillation.Samples.PaperPipelines;
using TorchSharp;

// The paper's experiments on CUB-200-2011, Cars-196 and Stanford Online Products: teacher training, student
// distillation (absolute, relative, optional RKD / hint / attention / semi-supervised / cross-quality), Recall@K,
// and a report folder. See docs/paper.md for the downloads and the commands.
if (args.Length == 0 || PaperPipelineArguments.WantsHelp(args))
{
    Console.WriteLine(PaperPipelineArguments.Usage);
    return args.Length == 0 ? 1 : 0;
}

PaperPipelineOptions options;
try
{
    options = PaperPipelineArguments.Parse(args);
}
catch (PaperArgumentException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 2;
}

torch.set_num_threads(Environment.ProcessorCount);
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };
try
{
    var pipeline = new PaperPipeline(options, Console.Out, (title, train) => ConsoleProgress.Run(title, p => train(p)));
    var result = pipeline.Run(cancel.Token);
    var curves = result.Runs.Where(r => r.Training is not null).Select(r => (r.Name, r.Training!)).ToArray();
    if (curves.Length > 0) Charts.TrainingCurves(Path.Combine(result.ReportFolder, "training-loss.png"), curves);
    Charts.RecallAtK(Path.Combine(result.ReportFolder, "recall-at-k.png"),
        result.Results.Select(r => r with { RecallAtK = pipeline.RecallKs.ToDictionary(k => k, k => r.RecallAtK[k]) }).ToArray());
    Console.WriteLine(File.ReadAllText(Path.Combine(result.ReportFolder, "results.md")));
    Console.WriteLine($"Charts: {Path.Combine(result.ReportFolder, "training-loss.png")}, {Path.Combine(result.ReportFolder, "recall-at-k.png")}");
    return 0;
}
catch (Exception e) when (e is ImageDataException or DirectoryNotFoundException or FileNotFoundException or InvalidDataException or ArgumentException)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 3;
}
catch (OperationCanceledException e)
{
    Console.Error.WriteLine(e.Message);
    return 130;
}
