namespace EmbeddingDistillation.Samples.CommandLine;

/// <summary>First Ctrl+C: cancel the token (the run stops after its current step). Second: the default hard stop.</summary>
internal sealed class CtrlCListener : IDisposable
{
    private readonly CancellationTokenSource _source = new();
    private readonly TextWriter _error;

    public CtrlCListener(TextWriter error)
    {
        _error = error;
        Console.CancelKeyPress += OnCancelKeyPress;
    }

    public CancellationToken Token => _source.Token;

    public void Dispose()
    {
        Console.CancelKeyPress -= OnCancelKeyPress;
        _source.Dispose();
    }

    private void OnCancelKeyPress(object? sender, ConsoleCancelEventArgs e)
    {
        if (_source.IsCancellationRequested) return;
        e.Cancel = true;
        _error.WriteLine("Ctrl+C: stopping after the current step (press Ctrl+C again to kill the process).");
        _source.Cancel();
    }
}
