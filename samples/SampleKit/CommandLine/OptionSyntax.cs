using System.Globalization;
using System.Reflection;
using Spectre.Console.Cli;

namespace EmbeddingDistillation.Samples.CommandLine;

/// <summary>
/// Checks a command line against a settings class before Spectre.Console.Cli binds it, so that every syntax error
/// names the option and the value: Spectre's own conversion errors ("Failed to convert 'abc' to Int32.") name
/// neither, a missing value at the end of the line is reported as a conversion of an internal name, and a
/// repeated option silently keeps its last value.
/// </summary>
internal static class OptionSyntax
{
    /// <summary>Help and version switches that Spectre.Console.Cli adds itself.</summary>
    private static readonly HashSet<string> BuiltIn = ["-h", "--help", "-?", "-v", "--version"];

    private sealed record Option(string Name, PropertyInfo Property, string? ValueName)
    {
        public Type ValueType => Nullable.GetUnderlyingType(Property.PropertyType) ?? Property.PropertyType;
        public bool IsFlag => ValueType == typeof(bool) && ValueName is null;
    }

    /// <summary>Throws a <see cref="UsageException"/> for the first malformed argument of <paramref name="args"/>.</summary>
    public static void Check(Type settingsType, IReadOnlyList<string> args)
    {
        var options = Options(settingsType);
        var given = new Dictionary<PropertyInfo, (string Name, string Value)>();
        for (int i = 0; i < args.Count; i++)
        {
            string token = args[i];
            if (BuiltIn.Contains(token)) continue;
            string name = token;
            string? value = null;
            int eq = token.IndexOf('=', StringComparison.Ordinal);
            if (token.StartsWith("--", StringComparison.Ordinal) && eq > 2)
            {
                name = token[..eq];
                value = token[(eq + 1)..];
            }
            if (!options.TryGetValue(name, out var option))
            {
                throw token.StartsWith('-')
                    ? new UsageException($"Unknown option '{name}' (run with --help for the options).")
                    : new UsageException($"Unexpected argument '{token}': every value follows its option, e.g. --report DIR (run with --help).");
            }
            if (option.IsFlag)
            {
                // Spectre.Console.Cli also reads "--flag false"; take the value only when it is one.
                if (value is null && i + 1 < args.Count && IsBoolean(args[i + 1])) value = args[++i];
                value ??= "true";
            }
            else if (value is null)
            {
                if (i + 1 >= args.Count || IsOptionToken(args[i + 1], options))
                    throw new UsageException($"Option {name} needs a value ({option.ValueName}).");
                value = args[++i];
            }
            CheckValue(option, name, value);
            if (given.TryGetValue(option.Property, out var first))
                throw new UsageException($"Option {name} is given twice ('{first.Value}' and '{value}'); give it once.");
            given[option.Property] = (name, value);
        }
    }

    private static void CheckValue(Option option, string name, string value)
    {
        var type = option.ValueType;
        var inv = CultureInfo.InvariantCulture;
        bool ok = type == typeof(int) ? int.TryParse(value, NumberStyles.Integer, inv, out _)
            : type == typeof(long) ? long.TryParse(value, NumberStyles.Integer, inv, out _)
            : type == typeof(double) ? double.TryParse(value, NumberStyles.Float, inv, out _)
            : type == typeof(bool) ? IsBoolean(value)
            : true;
        if (ok) return;
        string expected = type == typeof(bool) ? "true or false" : type == typeof(double) ? "a number" : "an integer";
        throw new UsageException($"Option {name} needs {expected}, got '{value}'.");
    }

    private static bool IsBoolean(string value) => bool.TryParse(value, out _);

    private static bool IsOptionToken(string token, Dictionary<string, Option> options) =>
        token.StartsWith("--", StringComparison.Ordinal) || BuiltIn.Contains(token) || options.ContainsKey(token);

    private static Dictionary<string, Option> Options(Type settingsType)
    {
        var result = new Dictionary<string, Option>(StringComparer.Ordinal);
        foreach (var property in settingsType.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetCustomAttribute<CommandOptionAttribute>() is not { } attribute) continue;
            foreach (var n in attribute.LongNames) result["--" + n] = new Option("--" + n, property, attribute.ValueName);
            foreach (var n in attribute.ShortNames) result["-" + n] = new Option("-" + n, property, attribute.ValueName);
        }
        return result;
    }
}
