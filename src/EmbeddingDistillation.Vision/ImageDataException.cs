namespace EmbeddingDistillation.Vision;

/// <summary>
/// A dataset file (image or annotation) is missing, corrupt or unreadable. The message names the file, and the
/// line for text annotations.
/// </summary>
public sealed class ImageDataException : IOException
{
    /// <summary>Creates the exception for <paramref name="filePath"/> (and <paramref name="line"/>, 1-based, when known).</summary>
    /// <param name="filePath">The file at fault.</param>
    /// <param name="message">What is wrong with it.</param>
    /// <param name="line">1-based line of a text annotation, or null.</param>
    /// <param name="inner">The underlying exception, if any.</param>
    public ImageDataException(string filePath, string message, int? line = null, Exception? inner = null)
        : base(Format(filePath, message, line), inner)
    {
        FilePath = filePath;
        Line = line;
    }

    /// <summary>The file at fault.</summary>
    public string FilePath { get; }

    /// <summary>The 1-based line of a text annotation, or null.</summary>
    public int? Line { get; }

    private static string Format(string filePath, string message, int? line) =>
        line is int l ? $"{filePath}, line {l}: {message}" : $"{filePath}: {message}";
}
