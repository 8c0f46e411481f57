using EmbeddingDistillation.Primitives;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Training;

/// <summary>
/// Training checkpoints in one file: a header, the run state (JSON), the network, the optimiser, the losses'
/// learnable modules and torch's RNG state, followed by a SHA-256 of everything before it. Files are written to a
/// temporary name and renamed over the old one, so a crash never leaves a half-written checkpoint behind, and a
/// truncated or foreign file is rejected with a message naming it.
/// </summary>
internal static class Checkpoints
{
    private static ReadOnlySpan<byte> Magic => "EDCKPT01"u8;

    public static void Save(string path, RunState state, nn.Module network, Optimizer optimizer, IReadOnlyList<nn.Module> lossModules,
        IReadOnlyList<TeacherEmbeddingCache?>? caches = null, WeightAverage? average = null)
    {
        ChecksummedFile.Write(path, Magic, stream =>
        {
            using var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
            WriteBlock(w, JsonSerializer.SerializeToUtf8Bytes(state));
            WriteBlock(w, ModuleBytes(network));
            WriteBlock(w, OptimizerBytes(optimizer));
            w.Write(lossModules.Count);
            foreach (var m in lossModules) WriteBlock(w, ModuleBytes(m));
            using (var rng = torch.random.get_rng_state())
                WriteBlock(w, rng.data<byte>().ToArray());
            // Teacher caches last: a checkpoint written before they were saved simply ends here.
            caches ??= [];
            w.Write(caches.Count);
            foreach (var cache in caches)
            {
                using var ms = new MemoryStream();
                using (var cw = new BinaryWriter(ms, Encoding.UTF8, leaveOpen: true))
                {
                    cw.Write(cache is not null);
                    cache?.Write(cw);
                }
                WriteBlock(w, ms.ToArray());
            }
            // The averaged weights after the caches (written in the network's own format by swapping them in).
            w.Write(average is not null);
            if (average is not null)
            {
                average.Swap();
                try { WriteBlock(w, ModuleBytes(network)); }
                finally { average.Swap(); }
            }
        });
    }

    /// <summary>Loads a checkpoint into the given objects and returns its run state.</summary>
    public static RunState Load(string path, nn.Module network, Optimizer optimizer, IReadOnlyList<nn.Module> lossModules,
        IReadOnlyList<TeacherEmbeddingCache?>? caches = null, WeightAverage? average = null, Device? device = null)
    {
        var payload = ChecksummedFile.ReadVerified(path, Magic, "EmbeddingDistillation training checkpoint");
        using var r = new BinaryReader(new MemoryStream(payload.ToArray(), writable: false));
        var state = JsonSerializer.Deserialize<RunState>(ReadBlock(r))
            ?? throw new InvalidDataException($"Checkpoint '{path}' has an empty run state.");
        LoadModule(network, ReadBlock(r), path, "network");
        using (var reader = new BinaryReader(new MemoryStream(ReadBlock(r))))
        {
            try
            {
                optimizer.Load(reader);
            }
            catch (Exception e) when (e is InvalidDataException or EndOfStreamException or ArgumentException or ExternalException)
            {
                throw new InvalidDataException($"Checkpoint '{path}': the optimiser state does not match this run ({e.Message}).", e);
            }
        }
        int count = r.ReadInt32();
        if (count != lossModules.Count)
            throw new InvalidDataException($"Checkpoint '{path}' holds {count} loss modules but the objective has {lossModules.Count}.");
        for (int i = 0; i < count; i++) LoadModule(lossModules[i], ReadBlock(r), path, $"loss module {i}");
        var rng = ReadBlock(r);
        using (var t = torch.tensor(rng, dtype: ScalarType.Byte)) torch.random.set_rng_state(t);
        if (r.BaseStream.Position == r.BaseStream.Length) return RequireNoAverage(state); // written before teacher caches were saved
        int saved = r.ReadInt32();
        for (int i = 0; i < saved; i++)
        {
            using var cr = new BinaryReader(new MemoryStream(ReadBlock(r)));
            if (!cr.ReadBoolean()) continue;
            var cache = caches is not null && i < caches.Count ? caches[i] : null;
            if (cache is null) continue; // this run does not cache (e.g. another teacher view): it embeds afresh
            try
            {
                cache.Read(cr, device ?? CPU);
            }
            catch (Exception e) when (e is InvalidDataException or EndOfStreamException)
            {
                throw new InvalidDataException($"Checkpoint '{path}': {e.Message}", e);
            }
        }
        bool averaged = r.BaseStream.Position < r.BaseStream.Length && r.ReadBoolean();
        if (averaged != average is not null)
            throw new InvalidDataException(averaged
                ? $"Checkpoint '{path}' was written by a run that averaged its weights; this run does not (TrainingOptions.WeightAverageDecay)."
                : NoAverage());
        if (average is not null)
        {
            // Load the saved average into the network's tensors, then swap it out: the live weights come back.
            average.Swap();
            try { LoadModule(network, ReadBlock(r), path, "averaged network"); }
            finally { average.Swap(); }
        }
        return state;

        RunState RequireNoAverage(RunState s) => average is null ? s : throw new InvalidDataException(NoAverage());
        string NoAverage() => $"Checkpoint '{path}' holds no averaged weights, but this run averages them (TrainingOptions.WeightAverageDecay); resume with the same options or use another checkpoint folder.";
    }

    private static byte[] ModuleBytes(nn.Module module)
    {
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, Encoding.UTF8, leaveOpen: true)) module.save(w);
        return ms.ToArray();
    }

    private static byte[] OptimizerBytes(Optimizer optimizer)
    {
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, Encoding.UTF8, leaveOpen: true)) optimizer.Save(w);
        return ms.ToArray();
    }

    private static void LoadModule(nn.Module module, byte[] bytes, string path, string what)
    {
        try
        {
            using var r = new BinaryReader(new MemoryStream(bytes));
            module.load(r, strict: true);
        }
        catch (Exception e) when (e is not InvalidDataException)
        {
            throw new InvalidDataException($"Checkpoint '{path}': the {what} does not match the saved weights ({e.Message}).", e);
        }
    }

    private static void WriteBlock(BinaryWriter w, byte[] bytes)
    {
        w.Write((long)bytes.Length);
        w.Write(bytes);
    }

    private static byte[] ReadBlock(BinaryReader r)
    {
        long n = r.ReadInt64();
        if (n < 0 || n > r.BaseStream.Length - r.BaseStream.Position)
            throw new InvalidDataException("Checkpoint block length is out of range.");
        return r.ReadBytes((int)n);
    }
}
