using EmbeddingDistillation.Samples.Runs;
using EmbeddingDistillation.Training;
using Spectre.Console;

namespace EmbeddingDistillation.Samples;

/// <summary>Live progress bars for training runs (Spectre.Console; plain lines when output is redirected).</summary>
public static class ConsoleProgress
{
    /// <summary>A <see cref="TrainingRunner"/> that shows each run under a progress bar.</summary>
    public static TrainingRunner Runner { get; } = (title, train) => Run(title, progress => train(progress));

    /// <summary>Runs <paramref name="train"/> under a progress bar named <paramref name="title"/>.</summary>
    public static TrainingResult Run(string title, Func<IProgress<TrainingProgress>, TrainingResult> train)
    {
        if (!Interactive) return Plain(title, train);
        TrainingResult? result = null;
        Shared(runner => result = runner(title, progress => train(progress!)));
        return result!;
    }

    /// <summary>
    /// Runs <paramref name="body"/> with a <see cref="TrainingRunner"/> that several threads may call at once: one live
    /// display holds a bar per run (plain lines when output is redirected).
    /// </summary>
    public static void Shared(Action<TrainingRunner> body)
    {
        if (!Interactive)
        {
            body((title, train) => Plain(title, progress => train(progress)));
            return;
        }
        // Redrawn from the training threads, under one lock, at most five times a second per run: Spectre's auto-refresh
        // thread would allocate while libtorch runs, and a collection it triggers can free one of TorchSharp's implicit
        // scalars mid-call (docs/training.md, "TorchSharp's implicit scalars and the garbage collector").
        var gate = new object();
        AnsiConsole.Progress()
            .AutoClear(false)
            .AutoRefresh(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx => body((title, train) =>
            {
                ProgressTask task;
                lock (gate) task = ctx.AddTask(Markup.Escape(title));
                var sinceRedraw = System.Diagnostics.Stopwatch.StartNew();
                var result = train(new Reporter(p =>
                {
                    lock (gate)
                    {
                        task.MaxValue = Math.Max(1, p.TotalSteps);
                        task.Value = p.Step;
                        var extra = p.Validation is not null && p.Validation.TryGetValue("recall@1", out var r1) ? $" val R@1 {r1:P1}" : "";
                        task.Description = Markup.Escape($"{title} loss {p.Loss:F3} {Rate(p.ImagesPerSecond)} img/s{extra}");
                        if (sinceRedraw.ElapsedMilliseconds >= 200 || p.Validation is not null || p.Step == p.TotalSteps)
                        {
                            ctx.Refresh();
                            sinceRedraw.Restart();
                        }
                    }
                }));
                lock (gate)
                {
                    task.Value = task.MaxValue;
                    ctx.Refresh();
                }
                return result;
            }));
    }

    /// <summary>
    /// Runs <paramref name="body"/> with a runner that <paramref name="parallel"/> threads may call at once: the console's
    /// own runner becomes <see cref="Shared"/> (its bars cannot be drawn twice at once); another runner (a test's) is
    /// passed through as it is.
    /// </summary>
    public static void ForParallel(TrainingRunner runner, int parallel, Action<TrainingRunner> body)
    {
        if (parallel > 1 && ReferenceEquals(runner, Runner)) Shared(body);
        else body(runner);
    }

    private static bool Interactive => !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;

    /// <summary>A line per quarter of the run and per validation (thread-safe: one <c>Console.WriteLine</c> per line).</summary>
    private static TrainingResult Plain(string title, Func<IProgress<TrainingProgress>, TrainingResult> train)
    {
        var lastPrinted = -1;
        return train(new Reporter(p =>
        {
            int pct = p.TotalSteps == 0 ? 100 : 100 * p.Step / p.TotalSteps;
            if (p.Validation is not null)
                Console.WriteLine($"  {title}: epoch {p.Epoch} validation {string.Join(", ", p.Validation.Select(kv => $"{kv.Key} {kv.Value:F3}"))}");
            else if (pct / 25 != lastPrinted / 25 || p.Step == p.TotalSteps)
            {
                lastPrinted = pct;
                Console.WriteLine($"  {title}: {pct,3}% step {p.Step}/{p.TotalSteps} loss {p.Loss:F4} {Rate(p.ImagesPerSecond)} img/s ETA {p.Eta:mm\\:ss}");
            }
        }));
    }

    /// <summary>Images per second with enough digits to be informative for slow (CPU, 224 px) runs too.</summary>
    private static string Rate(double ips) => ips >= 100 ? ips.ToString("F0") : ips >= 1 ? ips.ToString("F1") : ips.ToString("F2");

    private sealed class Reporter(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
