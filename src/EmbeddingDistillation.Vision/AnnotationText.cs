using System.Globalization;

namespace EmbeddingDistillation.Vision;

/// <summary>Reads whitespace-separated annotation text files, reporting errors with file and line.</summary>
internal static class AnnotationText
{
    /// <summary>One non-empty line split into fields.</summary>
    internal readonly record struct Row(string File, int Line, string[] Fields)
    {
        public int Int(int field, string name)
        {
            if (field >= Fields.Length || !int.TryParse(Fields[field], NumberStyles.Integer, CultureInfo.InvariantCulture, out int v))
                throw new ImageDataException(File, $"expected an integer {name} in field {field + 1}, got '{(field < Fields.Length ? Fields[field] : "")}'.", Line);
            return v;
        }

        public double Double(int field, string name)
        {
            if (field >= Fields.Length || !double.TryParse(Fields[field], NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v))
                throw new ImageDataException(File, $"expected a number {name} in field {field + 1}, got '{(field < Fields.Length ? Fields[field] : "")}'.", Line);
            return v;
        }

        public void RequireFields(int count, string format)
        {
            if (Fields.Length < count)
                throw new ImageDataException(File, $"expected {count} fields ({format}), got {Fields.Length}.", Line);
        }
    }

    /// <summary>The non-empty lines of <paramref name="path"/>; skips the first line when <paramref name="hasHeader"/>.</summary>
    public static IEnumerable<Row> Rows(string path, bool hasHeader = false)
    {
        if (!File.Exists(path))
            throw new ImageDataException(path, "annotation file not found.");
        string[] lines;
        try { lines = File.ReadAllLines(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ImageDataException(path, "cannot read the annotation file: " + e.Message, null, e);
        }
        return Split(path, lines, hasHeader);
    }

    private static IEnumerable<Row> Split(string path, string[] lines, bool hasHeader)
    {
        int lineNumber = 0;
        foreach (string line in lines)
        {
            lineNumber++;
            if (hasHeader && lineNumber == 1) continue;
            if (string.IsNullOrWhiteSpace(line)) continue;
            yield return new Row(path, lineNumber, line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        }
    }

    /// <summary>Reads "id value..." lines into a dictionary keyed by id, rejecting duplicate ids.</summary>
    public static Dictionary<int, Row> ById(string path, int fields, string format)
    {
        var result = new Dictionary<int, Row>();
        foreach (Row row in Rows(path))
        {
            row.RequireFields(fields, format);
            int id = row.Int(0, "id");
            if (!result.TryAdd(id, row))
                throw new ImageDataException(path, $"duplicate id {id}.", row.Line);
        }
        return result;
    }
}
