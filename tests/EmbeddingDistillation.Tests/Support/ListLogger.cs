using Microsoft.Extensions.Logging;

namespace EmbeddingDistillation.Tests.Support;

/// <summary>A logger that keeps every formatted message, for tests that check what was logged.</summary>
internal sealed class ListLogger : ILogger, ILoggerFactory
{
    public List<string> Messages { get; } = [];

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (Messages) Messages.Add(formatter(state, exception));
    }

    /// <summary>As a factory: every category logs into the same list.</summary>
    public ILogger CreateLogger(string categoryName) => this;

    public void AddProvider(ILoggerProvider provider) { }

    public void Dispose() { }
}
