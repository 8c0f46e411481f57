using System.Diagnostics;
using EmbeddingDistillation.Data;
using EmbeddingDistillation.Evaluation;
using EmbeddingDistillation.Losses;
using EmbeddingDistillation.Networks;
using EmbeddingDistillation.Samples.Runs;
using EmbeddingDistillation.Training;
using Microsoft.Extensions.Logging;
using Spectre.Console;
using TorchSharp;

namespace EmbeddingDistillation.Samples.Quickstart;

/// <summary>
/// One quickstart run: data, teacher, students, evaluation, report. Every training run lives in
/// <c>REPORT/checkpoints/NAME</c> (<see cref="RunFolder"/>): with <c>--resume</c> a finished run is reloaded and an
/// interrupted one continues from its last checkpoint, so the report equals the one of an uninterrupted run.
/// </summary>
internal sealed class QuickstartRun
{
    // The sample programs against the interface: a user can pass any ITrainer (a wrapper that logs, a distributed one).
    private static readonly ITrainer _trainer = new Trainer();

    /// <summary>Everything the quickstart writes into its report folder (what <c>--overwrite</c> deletes).</summary>
    public static readonly SampleOutputs Outputs = new(
        ["results.csv", "results.md", "training-curves.png", "recall-at-k.png", "index-grid.png", "student.onnx", "student-test.edidx"],
        ["checkpoints"]);

    private readonly QuickstartOptions o;
    private readonly IAnsiConsole console;
    private readonly TrainingRunner runner;
    private readonly List<(string Name, TrainingResult Result)> runs = [];
    private readonly List<string> warnings = [];
    /// <summary>Serialises the lines of students trained side by side.</summary>
    private readonly object consoleGate = new();

    /// <summary>Creates the run.</summary>
    /// <param name="options">The resolved options.</param>
    /// <param name="console">Where lines go (default: the process console).</param>
    /// <param name="runner">Runs each training (default: under a console progress bar).</param>
    public QuickstartRun(QuickstartOptions options, IAnsiConsole? console = null, TrainingRunner? runner = null)
    {
        o = options;
        this.console = console ?? AnsiConsole.Console;
        this.runner = runner ?? ConsoleProgress.Runner;
    }

    /// <summary>Runs everything; throws <see cref="OperationCanceledException"/> when cancelled (the checkpoints stay valid).</summary>
    public int Execute(CancellationToken cancellationToken)
    {
        ExecuteAndReturnResults(cancellationToken);
        return 0;
    }

    /// <summary>As <see cref="Execute"/>, returning the rows of results.csv.</summary>
    public IReadOnlyList<ModelResult> ExecuteAndReturnResults(CancellationToken cancellationToken)
    {
        var total = Stopwatch.StartNew();
        // First, before any work: the report folder is new, resumable with these settings, or explicitly overwritten.
        foreach (var line in ReportFolder.Prepare(o.Report, o.RunSettings(), o.Resume, o.Overwrite, Outputs))
            console.MarkupLine(Markup.Escape(line));
        torch.set_num_threads(o.Threads);
        var device = Devices.Pick(o.Device);
        using var loggerFactory = LoggerFactory.Create(b => b
            .AddSimpleConsole(c => { c.SingleLine = true; c.TimestampFormat = "HH:mm:ss "; })
            .SetMinimumLevel(LogLevel.Warning));

        if (Console.IsOutputRedirected) console.Profile.Width = 160;
        console.MarkupLine($"[bold]EmbeddingDistillation quickstart[/]{(o.Fast ? " [yellow](--fast)[/]" : "")} on {device}, {o.Threads} threads, seed {o.Seed}");

        // 1. Data: the synthetic fine-grained set, split by the paper's protocol (first half of the classes train,
        //    second half test), with validation classes carved out of the training half for model selection.
        var setup = QuickstartSetup.Create(o);
        var (dataset, split, train, validation, test, data) = (setup.Dataset, setup.Split, setup.Train, setup.Validation, setup.Test, setup.Data);
        console.MarkupLine(
            $"Synthetic dataset: {o.Classes} classes x {o.ImagesPerClass} images at {o.ImageSize} px, generated in {dataset.GenerationTime.TotalSeconds:F1} s; " +
            $"train {split.TrainClasses.Count} classes / {train.Count} images, validation {split.ValidationClasses.Count} / {validation.Count}, " +
            $"test {split.TestClasses.Count} / {test.Count} (never used for selection).");

        // 2. Teacher: a ResNet trained with a metric loss that spreads the embedding (from scratch, or fine-tuned from
        //    ImageNet weights), or a frozen one.
        var teacher = setup.CreateTeacher();
        teacher.Module.to(device);
        if (o.ImageNetTeacher)
            console.MarkupLine(Markup.Escape($"Teacher {teacher.Name}: ImageNet ResNet-18 ({ImageNetResNet18.PackageId} {ImageNetResNet18.PackageVersion}) seeing every image at " +
                $"{o.TeacherImageSize} px; {(o.FreezeTeacher ? "frozen: its embedding is the L2-normalised pooled 512-d ImageNet feature" : o.TeacherWeights is null ? $"fine-tuned with a new {o.EmbeddingDim}-d head, the backbone at {QuickstartOptions.PretrainedBackboneRateFactor.ToString(System.Globalization.CultureInfo.InvariantCulture)} x --teacher-lr" : "fine-tuned weights loaded below")}."));
        if (o.TeacherWeights is not null)
        {
            NetworkCheckpoint.Load(teacher, o.TeacherWeights);
            console.MarkupLine($"Teacher weights loaded from {Markup.Escape(o.TeacherWeights)} (not retrained).");
        }
        else if (o.FreezeTeacher)
            console.MarkupLine("Teacher frozen (--freeze-teacher): not trained.");
        else
            runs.Add(("teacher", Train(setup, "teacher", teacher, setup.TeacherObjective(), setup.TeacherTrainingOptions, o.TeacherEpochs, o.TeacherLearningRate, loggerFactory, cancellationToken, runner)));

        // 3-4. Students: identical architecture, initialisation, batches, schedule and metric loss; only the
        //      distillation terms differ. The teacher sees the clean (un-augmented) view, so its embeddings are cached.
        //      Created one after the other (the same initial weights), trained --parallel-students at a time.
        var jobs = (o.Baseline ? new[] { "baseline" } : []).Concat(o.Distill).Select(variant =>
        {
            var student = setup.CreateStudent();
            student.Module.to(device);
            string name = variant == "baseline" ? "student-baseline" : $"student-{variant}";
            return (Name: name, Role: variant == "baseline" ? ModelRole.Baseline : ModelRole.Distilled, Network: student, Objective: setup.StudentObjective(variant, teacher));
        }).ToArray();
        var studentResults = new TrainingResult[jobs.Length];
        int parallel = Math.Max(1, Math.Min(o.ParallelStudents, jobs.Length)); // a run without students (a teacher alone) still runs
        if (parallel > 1)
            console.MarkupLine($"Training the {jobs.Length} students {parallel} at a time, {o.ThreadsPerStudent} thread(s) each (--parallel-students).");
        void TrainStudents(TrainingRunner studentRunner) => ParallelRuns.Run(jobs.Length, parallel, o.ThreadsPerStudent, (i, ct) =>
            studentResults[i] = Train(setup, jobs[i].Name, jobs[i].Network, jobs[i].Objective, setup.StudentTrainingOptions, o.StudentEpochs, o.StudentLearningRate, loggerFactory, ct, studentRunner),
            cancellationToken);
        ConsoleProgress.ForParallel(runner, parallel, TrainStudents);
        torch.set_num_threads(o.Threads); // the workers' setting may reach libraries that keep one for the process (MKL)
        runs.AddRange(jobs.Select((j, i) => (j.Name, studentResults[i]))); // in the students' order, whichever finished first
        var students = jobs.Select((j, i) => new TrainedStudent(j.Name, j.Role, j.Network, studentResults[i].BestMetric)).ToList();

        // 5. Evaluation on the held-out test classes, and cost.
        var results = new List<ModelResult> { Evaluate("teacher", ModelRole.Teacher, teacher, test, cancellationToken) };
        results.AddRange(students.Select(s => Evaluate(s.Name, s.Role, s.Network, test, cancellationToken)));

        // 6. Report. A distilled student that its own run's validation classes rank below the baseline by more than
        // their noise gets a warning (a smaller gap, a note): the user's data, not the test table, says whether
        // distillation helps them.
        foreach (var finding in QuickstartReport.BelowBaselineOnValidation(students, validation.Count))
        {
            warnings.Add((finding.IsWarning ? "WARNING: " : "Note: ") + finding.Message);
            console.MarkupLine(finding.IsWarning ? $"[bold yellow]{Markup.Escape(finding.Message)}[/]" : Markup.Escape(finding.Message));
        }
        ResultsTable.Write(o.Report, results);
        if (warnings.Count > 0)
            File.AppendAllText(Path.Combine(o.Report, "results.md"), Environment.NewLine + string.Join(Environment.NewLine, warnings.Select(w => "> " + w)) + Environment.NewLine);
        Charts.TrainingCurves(Path.Combine(o.Report, "training-curves.png"), runs);
        Charts.RecallAtK(Path.Combine(o.Report, "recall-at-k.png"), results);
        QuickstartReport.PrintTable(console, results);
        QuickstartReport.PrintVerdict(console, results);

        // 7. Deploy the best distilled student (chosen on validation classes, not test).
        QuickstartReport.Deploy(console, o, students, test, dataset, cancellationToken);
        console.MarkupLine($"Report: {Markup.Escape(Path.GetFullPath(o.Report))} (results.csv, results.md, training-curves.png, recall-at-k.png, index-grid.png, student.onnx, checkpoints/). Total {total.Elapsed:mm\\:ss}.");
        return results;
    }

    /// <summary>Trains one run in its folder, or reloads it when an earlier session finished it (safe to call from several threads at once).</summary>
    private TrainingResult Train(QuickstartSetup setup, string name, IEmbeddingNetwork network, TrainingObjective objective,
        Func<int, double, string?, ILoggerFactory?, TrainingOptions> trainingOptions, int epochs, double learningRate, ILoggerFactory loggers, CancellationToken ct,
        TrainingRunner trainingRunner)
    {
        var folder = new RunFolder(Path.Combine(o.Report, "checkpoints", name));
        TrainingResult result;
        if (folder.IsFinished)
        {
            result = folder.LoadFinished(network);
            lock (consoleGate) console.MarkupLine($"  {name}: finished in an earlier session, reloaded from {Markup.Escape(folder.Path)} (not retrained).");
        }
        else
        {
            var options = trainingOptions(epochs, learningRate, folder.Path, loggers) with { Resume = o.Resume };
            result = trainingRunner(name, progress => _trainer.Fit(network, objective, setup.Data, options, progress, ct));
            if (result.Cancelled)
                throw new OperationCanceledException($"{name} stopped after step {result.Steps}; its checkpoint is in {folder.Path}.", ct);
            folder.MarkFinished(network, result, $"{name}: {epochs} epochs, lr {learningRate}");
            lock (consoleGate) console.MarkupLine($"  {name}: {result.Steps} steps in {result.Elapsed:mm\\:ss} ({result.ImagesPerSecond:F0} img/s){(result.Resumed ? " after resuming from its checkpoint" : "")}, " +
                $"best validation R@1 {result.BestMetric:P1} after epoch {result.BestEpoch}");
        }
        return result;
    }

    private ModelResult Evaluate(string name, ModelRole role, IEmbeddingNetwork network, IEmbeddingDataset test, CancellationToken ct)
    {
        using var extracted = EmbeddingExtractor.Extract(network, test, cancellationToken: ct);
        var metrics = RetrievalMetrics.Evaluate(extracted.Embeddings, extracted.Labels, RecallPresets.Quickstart, cancellationToken: ct);
        var training = runs.FirstOrDefault(r => r.Name == name).Result;
        if (CollapseWarnings.Check(name, training, extracted.Embeddings, extracted.Labels, metrics.RecallAtK[1]) is { } warning)
        {
            warnings.Add(warning);
            console.MarkupLine($"[bold red]{Markup.Escape(warning)}[/]");
        }
        var complexity = ModelComplexity.Measure(network, o.ImageSize, o.ImageSize);
        double latency = InferenceLatency.MillisecondsPerImage(network, o.ImageSize, batchSize: 1, iterations: o.Fast ? 10 : 30);
        return new ModelResult(name, role, metrics.RecallAtK, metrics.MapAtR, complexity.Parameters, complexity.Macs, latency);
    }
}

/// <summary>A trained student with its validation score (the deploy step picks the best by validation, never by test).</summary>
internal sealed record TrainedStudent(string Name, ModelRole Role, IEmbeddingNetwork Network, double? Validation);
