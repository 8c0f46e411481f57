using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Tests.Losses;

/// <summary>One case of Fixtures/Losses/losses_reference.json (written by make_reference.py, PyTorch 1.13, float64).</summary>
public sealed class ReferenceCase
{
    internal ReferenceCase(int index, JsonElement e)
    {
        Index = index;
        Loss = e.GetProperty("loss").GetString()!;
        Options = e.GetProperty("options");
        Inputs = e.GetProperty("inputs");
        Value = e.GetProperty("value").GetDouble();
        Grads = e.GetProperty("grads");
        Params = e.GetProperty("params");
    }

    public int Index { get; }
    public string Loss { get; }
    public JsonElement Options { get; }
    public JsonElement Inputs { get; }
    public double Value { get; }
    public JsonElement Grads { get; }
    public JsonElement Params { get; }

    public double Option(string name, double fallback) => Options.TryGetProperty(name, out var v) ? v.ValueKind switch
    {
        JsonValueKind.True => 1,
        JsonValueKind.False => 0,
        _ => v.GetDouble(),
    } : fallback;

    public string OptionText(string name) => Options.GetProperty(name).GetString()!;

    public bool Flag(string name) => Options.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.True;

    public override string ToString() => $"#{Index} {Loss} {Options}";
}

/// <summary>Loads the reference fixture once and turns nested JSON lists into float64 tensors.</summary>
public static class ReferenceFixture
{
    private static readonly Lazy<IReadOnlyList<ReferenceCase>> Cases = new(Load);

    public static IReadOnlyList<ReferenceCase> All => Cases.Value;

    public static IEnumerable<object[]> Indices(params string[] losses) =>
        All.Where(c => losses.Contains(c.Loss)).Select(c => new object[] { c.Index });

    private static IReadOnlyList<ReferenceCase> Load()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Fixtures", "Losses", "losses_reference.json");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        return doc.RootElement.GetProperty("cases").EnumerateArray().Select((e, i) => new ReferenceCase(i, e.Clone())).ToList();
    }

    /// <summary>A nested JSON list of numbers as a tensor of the given dtype (float64 by default).</summary>
    public static Tensor ToTensor(JsonElement e, ScalarType dtype = ScalarType.Float64)
    {
        var shape = new List<long>();
        var cur = e;
        while (cur.ValueKind == JsonValueKind.Array)
        {
            shape.Add(cur.GetArrayLength());
            if (cur.GetArrayLength() == 0) break;
            cur = cur[0];
        }
        var flat = new List<double>();
        Flatten(e, flat);
        using var t = torch.tensor(flat.ToArray(), dtype: ScalarType.Float64);
        return t.reshape(shape.ToArray()).to_type(dtype);
    }

    public static Tensor Labels(JsonElement e) =>
        torch.tensor(e.EnumerateArray().Select(v => (long)v.GetDouble()).ToArray(), dtype: ScalarType.Int64);

    private static void Flatten(JsonElement e, List<double> into)
    {
        if (e.ValueKind == JsonValueKind.Array)
            foreach (var c in e.EnumerateArray()) Flatten(c, into);
        else into.Add(e.GetDouble());
    }

    /// <summary>
    /// Asserts element-wise agreement to 1e-6 relative; entries far below the tensor's scale (e.g. zeros of a relu)
    /// are compared against 1e-6 of a thousandth of the largest entry instead.
    /// </summary>
    public static void AssertClose(Tensor expected, Tensor actual, string what, double rtol = 1e-6)
    {
        Assert.Equal(expected.shape, actual.shape);
        var e = expected.to_type(ScalarType.Float64).data<double>().ToArray();
        var a = actual.to_type(ScalarType.Float64).data<double>().ToArray();
        var scale = e.Length == 0 ? 0 : e.Max(Math.Abs);
        for (var i = 0; i < e.Length; i++)
        {
            Assert.False(double.IsNaN(a[i]), $"{what}[{i}] is NaN");
            var tol = rtol * Math.Max(Math.Abs(e[i]), 1e-3 * scale) + 1e-14;
            Assert.True(Math.Abs(a[i] - e[i]) <= tol, $"{what}[{i}]: expected {e[i]:R}, got {a[i]:R} (tolerance {tol:E2})");
        }
    }
}
