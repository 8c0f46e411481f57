using System.Runtime.ExceptionServices;
using TorchSharp;

namespace EmbeddingDistillation.Samples.Runs;

/// <summary>
/// Trains independent runs side by side on the CPU: <c>degree</c> dedicated threads, each with its own libtorch
/// intra-op thread count, take the runs in order. Small networks use one core far better than two (a step's layers are
/// too small to split), so two one-thread runs finish sooner than the same runs one after the other at two threads;
/// and a one-thread run's numbers do not depend on what runs beside it.
/// </summary>
public static class ParallelRuns
{
    /// <summary>
    /// Calls <paramref name="run"/> for every index in 0..<paramref name="count"/>-1, at most <paramref name="degree"/>
    /// at a time. The first failure cancels the token the other runs see (they stop after their current step, their
    /// checkpoints intact) and is rethrown once every thread has stopped.
    /// </summary>
    /// <param name="count">How many runs.</param>
    /// <param name="degree">How many at once (1: one after the other on the calling thread's settings).</param>
    /// <param name="threadsPerRun">libtorch intra-op threads of each worker thread.</param>
    /// <param name="run">Trains run <c>i</c>, observing the token.</param>
    /// <param name="cancellationToken">Cancels every run.</param>
    public static void Run(int count, int degree, int threadsPerRun, Action<int, CancellationToken> run, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(degree, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(threadsPerRun, 1);
        if (degree == 1 || count <= 1)
        {
            for (int i = 0; i < count; i++) run(i, cancellationToken);
            return;
        }
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        int next = -1;
        ExceptionDispatchInfo? failure = null;
        var threads = Enumerable.Range(0, Math.Min(degree, count)).Select(w => new Thread(() =>
        {
            // libtorch's intra-op thread count is per thread (OpenMP): set it on the thread that runs the work.
            torch.set_num_threads(threadsPerRun);
            int i;
            while ((i = Interlocked.Increment(ref next)) < count && !stop.IsCancellationRequested)
            {
                try
                {
                    run(i, stop.Token);
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref failure, ExceptionDispatchInfo.Capture(e), null);
                    stop.Cancel();
                }
            }
        }) { Name = $"training run worker {w}", IsBackground = true }).ToList();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();
        // A cancellation asked for by the caller wins over the runs' own OperationCanceledExceptions.
        if (failure?.SourceException is OperationCanceledException && cancellationToken.IsCancellationRequested)
            throw new OperationCanceledException(failure.SourceException.Message, failure.SourceException, cancellationToken);
        failure?.Throw();
    }
}
