using System.Text.Json;
using System.Text.Json.Serialization;
using EmbeddingDistillation.Networks;
using EmbeddingDistillation.Training;

namespace EmbeddingDistillation.Samples.Runs;

/// <summary>
/// One training run's folder in a report (e.g. <c>REPORT/checkpoints/teacher</c>): the trainer's resumable
/// <c>last.ckpt</c> and <c>best.weights</c> while it trains; once it has finished, <c>final.weights</c> (the network
/// as trained, best epoch restored) and then <c>finished.json</c> (what the run was and its training result).
/// The marker is written last and atomically, so its presence means the run is complete: <c>--resume</c> reloads
/// such a run instead of training it again.
/// </summary>
/// <param name="path">The run's folder.</param>
/// <param name="finalWeights">Where the finished network is saved; default <c>final.weights</c> in the folder (the
/// paper pipeline points its teacher at <c>REPORT/teacher.weights</c>, which it writes anyway).</param>
public sealed class RunFolder(string path, string? finalWeights = null)
{
    private const string FinalWeightsFile = "final.weights";
    private const string MarkerFile = "finished.json";

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>The folder, also the trainer's <see cref="TrainingOptions.CheckpointDirectory"/>.</summary>
    public string Path { get; } = path;

    /// <summary>The finished network's weights.</summary>
    public string FinalWeights { get; } = finalWeights ?? System.IO.Path.Combine(path, FinalWeightsFile);

    /// <summary>True when the run has finished and its network and result can be reloaded.</summary>
    public bool IsFinished => File.Exists(System.IO.Path.Combine(Path, MarkerFile)) && File.Exists(FinalWeights);

    /// <summary>True for the names of files a run folder writes (what <c>--overwrite</c> may delete).</summary>
    public static bool Writes(string fileName) =>
        fileName is FinalWeightsFile or MarkerFile or Trainer.LastCheckpointFile or Trainer.BestWeightsFile;

    /// <summary>
    /// Records the finished run: the network's weights, then the marker with <paramref name="description"/>, the
    /// result and optional <paramref name="counters"/> (e.g. labelled and unlabelled steps).
    /// </summary>
    public void MarkFinished(IEmbeddingNetwork network, TrainingResult result, string description, IReadOnlyDictionary<string, int>? counters = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(result);
        NetworkCheckpoint.Save(network, FinalWeights);
        var marker = new Marker(network.Name, description, result, new Dictionary<string, int>(counters ?? new Dictionary<string, int>()));
        AtomicText.Write(System.IO.Path.Combine(Path, MarkerFile), JsonSerializer.Serialize(marker, Json));
    }

    /// <summary>Loads the finished run's weights into <paramref name="network"/> and returns its training result.</summary>
    /// <exception cref="InvalidDataException">The marker or the weights are damaged, or belong to another network.</exception>
    public TrainingResult LoadFinished(IEmbeddingNetwork network) => LoadFinished(network, out _);

    /// <summary>As <see cref="LoadFinished(IEmbeddingNetwork)"/>, with the counters the run recorded.</summary>
    public TrainingResult LoadFinished(IEmbeddingNetwork network, out IReadOnlyDictionary<string, int> counters)
    {
        ArgumentNullException.ThrowIfNull(network);
        var markerPath = System.IO.Path.Combine(Path, MarkerFile);
        Marker marker;
        try
        {
            marker = JsonSerializer.Deserialize<Marker>(File.ReadAllText(markerPath), Json) ?? throw new JsonException("empty file");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{markerPath}' is damaged ({e.Message}); delete the folder '{Path}' to train that run again.", e);
        }
        if (marker.Network != network.Name)
            throw new InvalidDataException($"'{markerPath}' records network {marker.Network}, but this run builds {network.Name}.");
        NetworkCheckpoint.Load(network, FinalWeights);
        counters = marker.Counters ?? [];
        return marker.Result;
    }

    private sealed record Marker(string Network, string Description, TrainingResult Result, Dictionary<string, int>? Counters);
}
