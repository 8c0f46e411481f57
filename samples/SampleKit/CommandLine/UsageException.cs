namespace EmbeddingDistillation.Samples.CommandLine;

/// <summary>
/// A command line the sample refuses (exit code <see cref="ExitCodes.UsageError"/>): the message names the option
/// and the value at fault and says what would be accepted. Never shown with a stack trace.
/// </summary>
public sealed class UsageException(string message) : Exception(message);
