using EmbeddingDistillation.Primitives;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using EmbeddingDistillation.Evaluation;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Export;

/// <summary>
/// The single-file format of <see cref="EmbeddingIndex"/> (all integers little-endian):
/// <code>
/// magic      8 bytes  "EDIDX" 0x0D 0x0A 0x1A   (CR LF ^Z catch text-mode and transfer mangling, as in PNG)
/// version    uint32   1
/// dtype      uint8    1 = float32, 2 = float64
/// metric     uint8    0 = Euclidean, 1 = Cosine
/// hasNames   uint8    0 or 1
/// reserved   uint8    0
/// count N    int64
/// dim D      int64
/// ids        N x int64
/// names      (if hasNames) N x (int32 byte length, UTF-8 bytes)
/// data       N x D elements of dtype, row-major
/// sha256     32 bytes over every byte before it
/// </code>
/// Every size is checked against the file length before anything is allocated, so a damaged header cannot ask
/// for absurd memory; the checksum catches any flipped byte.
/// </summary>
internal static class EmbeddingIndexFile
{
    internal const uint Version = 1;
    internal static ReadOnlySpan<byte> Magic => "EDIDX\r\n\u001a"u8;
    private const int MagicLength = 8;
    private const int HeaderLength = MagicLength + 4 + 4 + 8 + 8;
    private const int ChecksumLength = 32;
    private const int CopyBuffer = 1 << 20; // bytes per slice of the float data

    internal static void Write(string path, Tensor embeddings, long[] ids, string[]? names, KnnMetric metric)
    {
        EnsureLittleEndian();
        AtomicFile.Write(path, stream =>
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            void Put(ReadOnlySpan<byte> bytes)
            {
                hash.AppendData(bytes);
                stream.Write(bytes);
            }

            var header = new byte[HeaderLength];
            Magic.CopyTo(header);
            BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(8), Version);
            header[12] = DtypeCode(embeddings.dtype);
            header[13] = (byte)metric;
            header[14] = names is null ? (byte)0 : (byte)1;
            BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(16), embeddings.shape[0]);
            BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(24), embeddings.shape[1]);
            Put(header);
            Put(MemoryMarshal.AsBytes(ids.AsSpan()));
            if (names is not null)
            {
                var length = new byte[4];
                foreach (var name in names)
                {
                    var utf8 = Encoding.UTF8.GetBytes(name);
                    BinaryPrimitives.WriteInt32LittleEndian(length, utf8.Length);
                    Put(length);
                    Put(utf8);
                }
            }

            // The float data is copied out of the (contiguous CPU) tensor in 1 MiB slices.
            using var flat = embeddings.view(-1);
            var step = CopyBuffer / embeddings.element_size();
            for (long start = 0; start < flat.shape[0]; start += step)
            {
                using var slice = flat.narrow(0, start, Math.Min(step, flat.shape[0] - start));
                Put(slice.bytes);
            }
            stream.Write(hash.GetHashAndReset());
        });
    }

    internal static (Tensor Embeddings, long[] Ids, string[]? Names, KnnMetric Metric) Read(string path)
    {
        EnsureLittleEndian();
        if (!File.Exists(path)) throw new FileNotFoundException($"Embedding index '{path}' does not exist.", path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, CopyBuffer);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var length = stream.Length;
        InvalidDataException Bad(string what) => new($"Embedding index '{path}' is invalid: {what}");

        void Take(Span<byte> into, string what)
        {
            var got = stream.ReadAtLeast(into, into.Length, throwOnEndOfStream: false);
            if (got < into.Length)
                throw Bad($"the file is truncated ({length} bytes) while reading {what}.");
            hash.AppendData(into);
        }

        if (length < MagicLength)
            throw Bad($"it is {length} bytes long, too short for an embedding index (truncated or not an index file).");
        var header = new byte[HeaderLength];
        Take(header.AsSpan(0, MagicLength), "the magic number");
        if (!header.AsSpan(0, MagicLength).SequenceEqual(Magic))
            throw Bad($"it does not start with the embedding-index magic number (found {Convert.ToHexString(header, 0, MagicLength)}, expected {Convert.ToHexString(Magic)}): not an EmbeddingDistillation index file.");
        Take(header.AsSpan(MagicLength), "the header");
        var version = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(8));
        if (version != Version)
            throw Bad($"format version {version} is not supported (this library reads version {Version}).");
        var dtype = header[12] switch
        {
            1 => ScalarType.Float32,
            2 => ScalarType.Float64,
            var c => throw Bad($"unknown element type code {c} (expected 1 = float32 or 2 = float64)."),
        };
        var metric = header[13] switch
        {
            0 => KnnMetric.Euclidean,
            1 => KnnMetric.Cosine,
            var c => throw Bad($"unknown metric code {c} (expected 0 = Euclidean or 1 = Cosine)."),
        };
        if (header[14] > 1 || header[15] != 0)
            throw Bad($"invalid header flags (names {header[14]}, reserved {header[15]}).");
        var hasNames = header[14] == 1;
        var count = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(16));
        var dim = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(24));
        var elementSize = dtype == ScalarType.Float64 ? 8L : 4L;
        // Sizes are validated against the file length before any allocation (a damaged count must not allocate).
        if (count < 1 || count > int.MaxValue || dim < 1 || dim > int.MaxValue)
            throw Bad($"header declares {count} items of dimension {dim}; both must be in [1, {int.MaxValue}].");
        var fixedBytes = HeaderLength + count * 8 + (hasNames ? count * 4 : 0) + count * dim * elementSize + ChecksumLength;
        if (length < fixedBytes)
            throw Bad($"the file is truncated: {length} bytes, but {count} x {dim} {dtype} embeddings need at least {fixedBytes}.");
        if (!hasNames && length != fixedBytes)
            throw Bad($"the file has {length} bytes, but {count} x {dim} {dtype} embeddings need exactly {fixedBytes} (trailing or missing bytes).");

        var ids = new long[count];
        Take(MemoryMarshal.AsBytes(ids.AsSpan()), "the ids");
        string[]? names = null;
        if (hasNames)
        {
            names = new string[count];
            var lengthBytes = new byte[4];
            var budget = length - fixedBytes; // bytes left for the UTF-8 text of all names
            for (var i = 0; i < count; i++)
            {
                Take(lengthBytes, $"the length of name {i}");
                var n = BinaryPrimitives.ReadInt32LittleEndian(lengthBytes);
                if (n < 0 || n > budget)
                    throw Bad($"name {i} declares {n} bytes but only {budget} bytes of names can remain (damaged or truncated).");
                budget -= n;
                var utf8 = new byte[n];
                Take(utf8, $"name {i}");
                names[i] = Encoding.UTF8.GetString(utf8);
            }
            if (budget != 0)
                throw Bad($"{budget} unexpected bytes after the names (damaged file or trailing data).");
        }

        var embeddings = empty(count, dim, dtype: dtype, device: CPU);
        try
        {
            var buffer = new byte[CopyBuffer];
            using var flat = embeddings.view(-1);
            var step = CopyBuffer / elementSize;
            for (long start = 0; start < flat.shape[0]; start += step)
            {
                using var slice = flat.narrow(0, start, Math.Min(step, flat.shape[0] - start));
                var bytes = buffer.AsSpan(0, (int)(slice.shape[0] * elementSize));
                Take(bytes, "the embeddings");
                slice.bytes = bytes;
            }
            var expected = hash.GetHashAndReset();
            var stored = new byte[ChecksumLength];
            if (stream.ReadAtLeast(stored, ChecksumLength, throwOnEndOfStream: false) < ChecksumLength)
                throw Bad("the file is truncated: the SHA-256 checksum at the end is missing.");
            if (!stored.AsSpan().SequenceEqual(expected))
                throw Bad($"SHA-256 checksum mismatch (stored {Convert.ToHexString(stored)[..16]}..., computed {Convert.ToHexString(expected)[..16]}...): the file is corrupted.");
            var duplicate = FirstDuplicate(ids);
            if (duplicate is not null)
                throw Bad($"id {duplicate} occurs more than once.");
            return (embeddings, ids, names, metric);
        }
        catch
        {
            embeddings.Dispose();
            throw;
        }
    }

    internal static long? FirstDuplicate(long[] ids)
    {
        var seen = new HashSet<long>(ids.Length);
        foreach (var id in ids)
            if (!seen.Add(id)) return id;
        return null;
    }

    private static byte DtypeCode(ScalarType dtype) => dtype switch
    {
        ScalarType.Float32 => 1,
        ScalarType.Float64 => 2,
        _ => throw new ArgumentException($"Index embeddings must be float32 or float64; got {dtype}."),
    };

    private static void EnsureLittleEndian()
    {
        // The ids and the float data are copied as raw memory: the format is little-endian.
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("Embedding index files are little-endian; big-endian hosts are not supported.");
    }
}
