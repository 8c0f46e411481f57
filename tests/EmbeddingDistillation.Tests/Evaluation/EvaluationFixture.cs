using System.Text.Json;
using System.Text.Json.Serialization;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Tests.Evaluation;

/// <summary>The reference values written by Fixtures/Evaluation/make_reference.py.</summary>
internal sealed class EvaluationFixture
{
    [JsonPropertyName("ks")] public int[] Ks { get; set; } = [];
    [JsonPropertyName("retrieval")] public RetrievalCase[] Retrieval { get; set; } = [];
    [JsonPropertyName("nmi")] public NmiCase[] Nmi { get; set; } = [];

    public static EvaluationFixture Load()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Fixtures", "Evaluation", "reference.json");
        return JsonSerializer.Deserialize<EvaluationFixture>(File.ReadAllText(path))
               ?? throw new InvalidDataException($"Empty fixture {path}.");
    }

    internal sealed class RetrievalCase
    {
        [JsonPropertyName("name")] public string Name { get; set; } = "";
        [JsonPropertyName("embeddings")] public double[][] Rows { get; set; } = [];
        [JsonPropertyName("labels")] public long[] Labels { get; set; } = [];
        [JsonPropertyName("recall")] public Dictionary<string, double> Recall { get; set; } = [];
        [JsonPropertyName("map_at_r")] public double MapAtR { get; set; }
        [JsonPropertyName("r_precision")] public double RPrecision { get; set; }

        public Tensor Embeddings() =>
            tensor(Rows.SelectMany(r => r).ToArray(), dtype: ScalarType.Float64).view(Rows.Length, Rows[0].Length);
    }

    internal sealed class NmiCase
    {
        [JsonPropertyName("name")] public string Name { get; set; } = "";
        [JsonPropertyName("clusters")] public long[] Clusters { get; set; } = [];
        [JsonPropertyName("labels")] public long[] Labels { get; set; } = [];
        [JsonPropertyName("nmi")] public double Nmi { get; set; }
    }
}
