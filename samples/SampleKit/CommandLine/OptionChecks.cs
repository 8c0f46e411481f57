using System.Globalization;
using EmbeddingDistillation.Networks;
using Spectre.Console;

namespace EmbeddingDistillation.Samples.CommandLine;

/// <summary>
/// Collects the errors of a settings object's values, each naming the option and the value, so that
/// <c>Validate()</c> refuses a bad command line before any work starts and lists every problem at once.
/// </summary>
public sealed class OptionChecks
{
    private readonly List<string> _errors = [];

    /// <summary>The errors found so far.</summary>
    public IReadOnlyList<string> Errors => _errors;

    /// <summary>An integer option must be at least <paramref name="min"/> (skipped when not given).</summary>
    public OptionChecks AtLeast(string option, int? value, int min)
    {
        if (value < min) Fail($"Option {option} must be >= {min}, got {value}.");
        return this;
    }

    /// <summary>An integer option must lie in [<paramref name="min"/>, <paramref name="max"/>] (skipped when not given).</summary>
    public OptionChecks InRange(string option, int? value, int min, int max)
    {
        if (value < min || value > max) Fail($"Option {option} must be in [{min}, {max}], got {value}.");
        return this;
    }

    /// <summary>A number that must be finite and above zero, e.g. a learning rate (skipped when not given).</summary>
    public OptionChecks Positive(string option, double? value)
    {
        if (value is double v && !(double.IsFinite(v) && v > 0)) Fail($"Option {option} must be a finite number > 0, got {Show(v)}.");
        return this;
    }

    /// <summary>A number that must be finite and at least zero, e.g. a loss weight (skipped when not given).</summary>
    public OptionChecks NonNegative(string option, double? value)
    {
        if (value is double v && !(double.IsFinite(v) && v >= 0)) Fail($"Option {option} must be a finite number >= 0, got {Show(v)}.");
        return this;
    }

    /// <summary>A name from a fixed list (case-sensitive, as documented).</summary>
    public OptionChecks OneOf(string option, string? value, IReadOnlyCollection<string> allowed)
    {
        if (value is not null && !allowed.Contains(value))
            Fail($"Option {option}: '{value}' is not one of {string.Join(", ", allowed)}.");
        return this;
    }

    /// <summary>
    /// A network name that <see cref="EmbeddingNetworks.Create"/> accepts. The check builds the architecture at base
    /// width 1 and embedding dimension 1 (milliseconds, a few kilobytes), so the answer is the factory's own.
    /// </summary>
    public OptionChecks Network(string option, string? name)
    {
        if (name is null) return this;
        try
        {
            using var probe = EmbeddingNetworks.Create(name, 1, new EmbeddingNetworkOptions { BaseWidth = 1, SmallInputStem = true });
        }
        catch (ArgumentException e)
        {
            var reason = FirstSentences(e.Message);
            Fail(reason.Contains(name, StringComparison.Ordinal) ? $"Option {option}: {reason}" : $"Option {option}: '{name}' is not usable: {reason}");
        }
        return this;
    }

    /// <summary>A device the machine has: auto, cpu, cuda or cuda:N (cuda only with a CUDA backend and a GPU).</summary>
    public OptionChecks Device(string option, string? device)
    {
        if (device is null) return this;
        try
        {
            Devices.Pick(device);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            Fail($"Option {option}: {FirstSentences(e.Message)}");
        }
        return this;
    }

    /// <summary>An input file that must exist (skipped when not given).</summary>
    public OptionChecks FileExists(string option, string? path)
    {
        if (path is not null && !File.Exists(path))
            Fail(Directory.Exists(path) ? $"Option {option}: '{path}' is a folder, not a file." : $"Option {option}: file '{path}' does not exist.");
        return this;
    }

    /// <summary>An input folder that must exist (skipped when not given).</summary>
    public OptionChecks DirectoryExists(string option, string? path)
    {
        if (path is not null && !Directory.Exists(path)) Fail($"Option {option}: folder '{path}' does not exist.");
        return this;
    }

    /// <summary>A rule between options: <paramref name="message"/> names them.</summary>
    public OptionChecks Require(bool condition, string message)
    {
        if (!condition) Fail(message);
        return this;
    }

    /// <summary>Adds an error.</summary>
    public void Fail(string message) => _errors.Add(message);

    /// <summary>Spectre's validation result: every error on its own line.</summary>
    public ValidationResult Result() =>
        _errors.Count == 0 ? ValidationResult.Success() : ValidationResult.Error(string.Join(Environment.NewLine, _errors));

    private static string Show(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Library messages end with " (Parameter 'name')" for ArgumentException; the option already names it.</summary>
    private static string FirstSentences(string message)
    {
        int p = message.IndexOf(" (Parameter '", StringComparison.Ordinal);
        return p > 0 ? message[..p] : message;
    }
}
