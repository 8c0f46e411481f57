using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using SkiaSharp;

namespace EmbeddingDistillation.Tests.Vision;

/// <summary>A temporary directory deleted on dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "ed-vision-" + Guid.NewGuid().ToString("N"));

    public string File(string relative)
    {
        string full = System.IO.Path.Combine(Path, relative);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        return full;
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, true); } catch (IOException) { }
    }
}

/// <summary>Writes small test images with SkiaSharp.</summary>
internal static class TestImages
{
    /// <summary>An RGBA buffer whose pixels are a deterministic function of (x, y, seed), smooth enough to survive JPEG.</summary>
    public static byte[] Pattern(int width, int height, int seed)
    {
        var rgba = new byte[width * height * 4];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int o = (y * width + x) * 4;
                rgba[o] = (byte)((x * 255 / Math.Max(1, width - 1) + seed * 40) % 256);
                rgba[o + 1] = (byte)((y * 255 / Math.Max(1, height - 1) + seed * 70) % 256);
                rgba[o + 2] = (byte)((seed * 97) % 256);
                rgba[o + 3] = 255;
            }
        return rgba;
    }

    public static byte[] Encode(byte[] rgba, int width, int height, SKEncodedImageFormat format, int quality = 95)
    {
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var data = SKData.CreateCopy(rgba);
        using var image = SKImage.FromPixels(info, data, info.RowBytes);
        using var encoded = image.Encode(format, quality);
        return encoded.ToArray();
    }

    public static void WriteJpeg(string path, int width, int height, int seed, int quality = 95)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, Encode(Pattern(width, height, seed), width, height, SKEncodedImageFormat.Jpeg, quality));
    }

    public static void WritePng(string path, int width, int height, int seed)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, Encode(Pattern(width, height, seed), width, height, SKEncodedImageFormat.Png));
    }

    /// <summary>Inserts an EXIF APP1 segment with only an orientation tag right after the JPEG's SOI marker.</summary>
    public static byte[] WithExifOrientation(byte[] jpeg, int orientation)
    {
        Assert.True(jpeg[0] == 0xFF && jpeg[1] == 0xD8, "not a JPEG");
        var tiff = new List<byte>();
        tiff.AddRange("MM"u8.ToArray());                 // big-endian TIFF
        tiff.AddRange(new byte[] { 0x00, 0x2A });        // magic 42
        tiff.AddRange(new byte[] { 0, 0, 0, 8 });        // offset of IFD0
        tiff.AddRange(new byte[] { 0, 1 });              // one entry
        tiff.AddRange(new byte[] { 0x01, 0x12 });        // tag 0x0112 Orientation
        tiff.AddRange(new byte[] { 0, 3 });              // type SHORT
        tiff.AddRange(new byte[] { 0, 0, 0, 1 });        // count 1
        tiff.AddRange(new byte[] { 0, (byte)orientation, 0, 0 }); // value, left-justified
        tiff.AddRange(new byte[] { 0, 0, 0, 0 });        // no next IFD
        var payload = "Exif\0\0"u8.ToArray().Concat(tiff).ToArray();
        int length = payload.Length + 2;
        var segment = new byte[] { 0xFF, 0xE1, (byte)(length >> 8), (byte)length }.Concat(payload);
        return jpeg.Take(2).Concat(segment).Concat(jpeg.Skip(2)).ToArray();
    }
}

/// <summary>
/// A minimal MATLAB v5 MAT-file writer for tests (little- or big-endian): structs, cells, char arrays and numeric
/// arrays of several classes, each top-level variable optionally zlib-compressed (miCOMPRESSED).
/// </summary>
internal sealed class MatV5Writer
{
    public abstract record Value;
    public sealed record Numeric(int ClassId, int DataType, double[] Values, int Rows = 1) : Value;
    public sealed record Chars(string Text) : Value;
    public sealed record Cell(Value[] Cells) : Value;
    public sealed record Struct(string[] Fields, Value[][] Elements) : Value;

    // Array classes and data types of the format.
    public const int MxDouble = 6, MxUInt8 = 9, MxUInt16 = 11, MxInt32 = 12;
    public const int MiInt8 = 1, MiUInt8 = 2, MiUInt16 = 4, MiInt32 = 5, MiUInt32 = 6, MiDouble = 9, MiMatrix = 14, MiCompressed = 15;

    private readonly MemoryStream _file = new();
    private readonly bool _bigEndian;

    public MatV5Writer(bool bigEndian = false)
    {
        _bigEndian = bigEndian;
        var header = new byte[128];
        Encoding.ASCII.GetBytes("MATLAB 5.0 MAT-file, written by EmbeddingDistillation tests".PadRight(116)).CopyTo(header, 0);
        // Version 0x0100 and the endian indicator 'IM', both written in the file's byte order.
        if (bigEndian) { header[124] = 0x01; header[125] = 0x00; header[126] = (byte)'M'; header[127] = (byte)'I'; }
        else { header[124] = 0x00; header[125] = 0x01; header[126] = (byte)'I'; header[127] = (byte)'M'; }
        _file.Write(header);
    }

    public MatV5Writer Add(string name, Value value, bool compress)
    {
        byte[] matrix = Matrix(name, value);
        if (!compress)
        {
            _file.Write(matrix);
            return this;
        }
        using var deflated = new MemoryStream();
        using (var z = new ZLibStream(deflated, CompressionLevel.Optimal, leaveOpen: true)) z.Write(matrix);
        Tag(_file, MiCompressed, (int)deflated.Length);
        _file.Write(deflated.ToArray()); // compressed elements are not padded
        return this;
    }

    public byte[] ToArray() => _file.ToArray();

    private byte[] Matrix(string name, Value value)
    {
        var body = new MemoryStream();
        var (classId, dims) = value switch
        {
            Numeric n => (n.ClassId, new[] { n.Rows, n.Values.Length / n.Rows }),
            Chars c => (4, new[] { 1, c.Text.Length }),
            Cell c => (1, new[] { 1, c.Cells.Length }),
            Struct s => (2, new[] { 1, s.Elements.Length }),
            _ => throw new ArgumentException("unknown value"),
        };
        Element(body, MiUInt32, Bytes(new[] { (uint)classId, 0u }));
        Element(body, MiInt32, Bytes(dims));
        Element(body, MiInt8, Encoding.ASCII.GetBytes(name)); // small element format when the name has at most 4 characters
        switch (value)
        {
            case Numeric n:
                Element(body, n.DataType, NumericBytes(n.DataType, n.Values));
                break;
            case Chars c:
                Element(body, MiUInt16, (_bigEndian ? Encoding.BigEndianUnicode : Encoding.Unicode).GetBytes(c.Text));
                break;
            case Cell c:
                foreach (var v in c.Cells) body.Write(Matrix("", v));
                break;
            case Struct s:
                const int fieldLength = 32;
                Element(body, MiInt32, Bytes(new[] { fieldLength }));
                var names = new byte[fieldLength * s.Fields.Length];
                for (int f = 0; f < s.Fields.Length; f++) Encoding.ASCII.GetBytes(s.Fields[f]).CopyTo(names, f * fieldLength);
                Element(body, MiInt8, names);
                foreach (var element in s.Elements)
                    foreach (var v in element) body.Write(Matrix("", v));
                break;
        }
        var result = new MemoryStream();
        Tag(result, MiMatrix, (int)body.Length);
        result.Write(body.ToArray());
        return result.ToArray();
    }

    private void Element(Stream s, int type, byte[] data)
    {
        if (data.Length is > 0 and <= 4)
        {
            // Small data element: size in the upper 16 bits, type in the lower, data in the same 8 bytes.
            Span<byte> small = stackalloc byte[8];
            if (_bigEndian) BinaryPrimitives.WriteUInt32BigEndian(small, (uint)(data.Length << 16 | type));
            else BinaryPrimitives.WriteUInt32LittleEndian(small, (uint)(data.Length << 16 | type));
            data.CopyTo(small[4..]);
            s.Write(small);
            return;
        }
        Tag(s, type, data.Length);
        s.Write(data);
        s.Write(new byte[(8 - data.Length % 8) % 8]);
    }

    private void Tag(Stream s, int type, int length)
    {
        Span<byte> tag = stackalloc byte[8];
        if (_bigEndian)
        {
            BinaryPrimitives.WriteInt32BigEndian(tag, type);
            BinaryPrimitives.WriteInt32BigEndian(tag[4..], length);
        }
        else
        {
            BinaryPrimitives.WriteInt32LittleEndian(tag, type);
            BinaryPrimitives.WriteInt32LittleEndian(tag[4..], length);
        }
        s.Write(tag);
    }

    private byte[] Bytes(uint[] values) => values.SelectMany(v => Order(BitConverter.GetBytes(v))).ToArray();
    private byte[] Bytes(int[] values) => values.SelectMany(v => Order(BitConverter.GetBytes(v))).ToArray();

    /// <summary>Little-endian bytes of one value in the file's byte order.</summary>
    private byte[] Order(byte[] littleEndian) => _bigEndian ? littleEndian.Reverse().ToArray() : littleEndian;

    private byte[] NumericBytes(int type, double[] values) => type switch
    {
        MiUInt8 => values.Select(v => (byte)v).ToArray(),
        MiUInt16 => values.SelectMany(v => Order(BitConverter.GetBytes((ushort)v))).ToArray(),
        MiInt32 => values.SelectMany(v => Order(BitConverter.GetBytes((int)v))).ToArray(),
        MiDouble => values.SelectMany(v => Order(BitConverter.GetBytes(v))).ToArray(),
        _ => throw new ArgumentException("unsupported type"),
    };
}
