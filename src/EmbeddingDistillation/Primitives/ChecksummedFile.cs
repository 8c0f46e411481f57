using System.Security.Cryptography;

namespace EmbeddingDistillation.Primitives;

/// <summary>
/// A file as <c>magic (8 bytes) | payload | SHA-256 of magic and payload (32 bytes)</c>, written atomically through
/// <see cref="AtomicFile"/>. Reading verifies the checksum before a byte of the payload is used, so a truncated,
/// flipped or foreign file is rejected with a message naming it instead of loading garbage.
/// </summary>
internal static class ChecksummedFile
{
    private const int ChecksumLength = 32;

    /// <summary>Writes <paramref name="magic"/>, the payload written by <paramref name="writePayload"/>, and the checksum.</summary>
    public static void Write(string path, ReadOnlySpan<byte> magic, Action<Stream> writePayload)
    {
        if (magic.Length != 8) throw new ArgumentException("The magic must be 8 bytes.", nameof(magic));
        var header = magic.ToArray();
        AtomicFile.Write(path, stream =>
        {
            using var hashing = new HashingStream(stream);
            hashing.Write(header);
            writePayload(hashing);
            stream.Write(hashing.Hash());
        });
    }

    /// <summary>True when the file starts with <paramref name="magic"/> (a cheap check of the format).</summary>
    public static bool HasMagic(string path, ReadOnlySpan<byte> magic)
    {
        using var file = File.OpenRead(path);
        Span<byte> head = stackalloc byte[8];
        return file.ReadAtLeast(head, 8, throwOnEndOfStream: false) == 8 && head.SequenceEqual(magic);
    }

    /// <summary>Reads and verifies the file; returns its payload.</summary>
    /// <param name="path">The file.</param>
    /// <param name="magic">The expected 8-byte magic.</param>
    /// <param name="what">What the file should be, for messages (e.g. "EmbeddingDistillation weights file").</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">Wrong magic, truncated or corrupt.</exception>
    public static ReadOnlyMemory<byte> ReadVerified(string path, ReadOnlySpan<byte> magic, string what)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"'{path}' does not exist.", path);
        var all = File.ReadAllBytes(path);
        if (all.Length < magic.Length || !all.AsSpan(0, magic.Length).SequenceEqual(magic))
            throw new InvalidDataException($"'{path}' is not an {what} (its first bytes are not the format's header).");
        if (all.Length < magic.Length + ChecksumLength)
            throw new InvalidDataException($"{Capitalised(what)} '{path}' is truncated ({all.Length} bytes).");
        var body = all.AsSpan(0, all.Length - ChecksumLength);
        if (!SHA256.HashData(body).AsSpan().SequenceEqual(all.AsSpan(all.Length - ChecksumLength)))
            throw new InvalidDataException($"{Capitalised(what)} '{path}' is truncated or corrupt (SHA-256 checksum mismatch); it was damaged after it was written.");
        return all.AsMemory(magic.Length, all.Length - ChecksumLength - magic.Length);
    }

    private static string Capitalised(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..];

    /// <summary>Forwards writes to a stream and hashes them; the underlying stream stays open.</summary>
    private sealed class HashingStream(Stream inner) : Stream
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

        public byte[] Hash() => _hash.GetHashAndReset();

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            _hash.AppendData(buffer);
            inner.Write(buffer);
        }

        public override void Flush() => inner.Flush();
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) _hash.Dispose();
            base.Dispose(disposing);
        }
    }
}
