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
public sealed class RunFolder(string path)
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

    /// <summary>True when the run has finished and its network and result can be reloaded.</summary>
    public bool IsFinished => File.Exists(System.IO.Path.Combine(Path, MarkerFile)) && File.Exists(System.IO.Path.Combine(Path, FinalWeightsFile));

    /// <summary>True for the names of files a run folder writes (what <c>--overwrite</c> may delete).</summary>
    public static bool Writes(string fileName) =>
        fileName is FinalWeightsFile or MarkerFile or Trainer.LastCheckpointFile or Trainer.BestWeightsFile;

    /// <summary>Records the finished run: the network's weights, then the marker with <paramref name="description"/> and the result.</summary>
    public void MarkFinished(IEmbeddingNetwork network, TrainingResult result, string description)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(result);
        NetworkCheckpoint.Save(network.Module, System.IO.Path.Combine(Path, FinalWeightsFile));
        AtomicText.Write(System.IO.Path.Combine(Path, MarkerFile), JsonSerializer.Serialize(new Marker(network.Name, description, result), Json));
    }

    /// <summary>Loads the finished run's weights into <paramref name="network"/> and returns its training result.</summary>
    /// <exception cref="InvalidDataException">The marker or the weights are damaged, or belong to another network.</exception>
    public TrainingResult LoadFinished(IEmbeddingNetwork network)
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
        NetworkCheckpoint.Load(network.Module, System.IO.Path.Combine(Path, FinalWeightsFile));
        return marker.Result;
    }

    private sealed record Marker(string Network, string Description, TrainingResult Result);
}
