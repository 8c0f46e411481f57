using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace EmbeddingDistillation.Vision;

/// <summary>A variable or nested value of a MATLAB v5 MAT-file.</summary>
/// <param name="Name">The variable name (empty for nested values).</param>
/// <param name="Dimensions">MATLAB dimensions (at least two).</param>
internal abstract record MatArray(string Name, IReadOnlyList<int> Dimensions)
{
    /// <summary>The number of elements (product of the dimensions).</summary>
    public int Count => Dimensions.Aggregate(1, (a, d) => a * d);
}

/// <summary>A numeric or logical array, converted to double (real part only), column-major.</summary>
/// <param name="Name">The variable name.</param>
/// <param name="Dimensions">MATLAB dimensions.</param>
/// <param name="Values">The elements in column-major order.</param>
internal sealed record MatNumeric(string Name, IReadOnlyList<int> Dimensions, double[] Values) : MatArray(Name, Dimensions);

/// <summary>A char array; <see cref="Text"/> is the string of a row or column vector (rows are joined by newlines otherwise).</summary>
/// <param name="Name">The variable name.</param>
/// <param name="Dimensions">MATLAB dimensions.</param>
/// <param name="Text">The characters.</param>
internal sealed record MatChar(string Name, IReadOnlyList<int> Dimensions, string Text) : MatArray(Name, Dimensions);

/// <summary>A cell array, column-major.</summary>
/// <param name="Name">The variable name.</param>
/// <param name="Dimensions">MATLAB dimensions.</param>
/// <param name="Cells">The cells in column-major order.</param>
internal sealed record MatCell(string Name, IReadOnlyList<int> Dimensions, MatArray[] Cells) : MatArray(Name, Dimensions);

/// <summary>A struct array (or object): field names and, for each element (column-major), one value per field.</summary>
/// <param name="Name">The variable name.</param>
/// <param name="Dimensions">MATLAB dimensions.</param>
/// <param name="FieldNames">The field names.</param>
/// <param name="Elements">Element i holds the values of the fields in <paramref name="FieldNames"/> order.</param>
internal sealed record MatStruct(string Name, IReadOnlyList<int> Dimensions, IReadOnlyList<string> FieldNames, MatArray[][] Elements) : MatArray(Name, Dimensions)
{
    /// <summary>The value of field <paramref name="field"/> of element <paramref name="element"/>; null when the struct has no such field.</summary>
    /// <param name="element">Element index (column-major).</param>
    /// <param name="field">Field name.</param>
    public MatArray? Get(int element, string field)
    {
        int f = FieldNames is List<string> list ? list.IndexOf(field) : FieldNames.ToList().IndexOf(field);
        return f < 0 ? null : Elements[element][f];
    }
}

/// <summary>An array class this reader does not decode (sparse, function handles); kept so that other variables still load.</summary>
/// <param name="Name">The variable name.</param>
/// <param name="Dimensions">MATLAB dimensions.</param>
/// <param name="ClassId">The MATLAB array class number.</param>
internal sealed record MatUnsupported(string Name, IReadOnlyList<int> Dimensions, int ClassId) : MatArray(Name, Dimensions);

/// <summary>
/// A small reader of MATLAB Level 5 MAT-files (the format of Cars-196's <c>cars_annos.mat</c>): miCOMPRESSED
/// (zlib) and miMATRIX elements, numeric classes (converted to double), logical, char, cell and struct arrays,
/// little- and big-endian files. Every read is bounds-checked: a truncated or corrupt file raises
/// <see cref="ImageDataException"/> naming the file and byte offset. MAT v7.3 (HDF5) files are not supported.
/// </summary>
internal static class MatFile
{
    // Data types (miXXX) and array classes (mxXXX) of the MAT-file format specification.
    private const int MiInt8 = 1, MiUInt8 = 2, MiInt16 = 3, MiUInt16 = 4, MiInt32 = 5, MiUInt32 = 6, MiSingle = 7,
        MiDouble = 9, MiInt64 = 12, MiUInt64 = 13, MiMatrix = 14, MiCompressed = 15, MiUtf8 = 16, MiUtf16 = 17, MiUtf32 = 18;
    private const int MxCell = 1, MxStruct = 2, MxObject = 3, MxChar = 4;

    /// <summary>Reads every top-level variable of <paramref name="path"/>, by name.</summary>
    /// <param name="path">The .mat file.</param>
    /// <exception cref="ImageDataException">The file is missing, not a v5 MAT-file, or corrupt.</exception>
    public static IReadOnlyDictionary<string, MatArray> Read(string path)
    {
        if (!File.Exists(path))
            throw new ImageDataException(path, "MAT-file not found.");
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (IOException e) { throw new ImageDataException(path, "cannot read the MAT-file: " + e.Message, null, e); }
        return Read(bytes, path);
    }

    /// <summary>Reads every top-level variable of a MAT-file held in memory.</summary>
    /// <param name="bytes">The file contents.</param>
    /// <param name="fileName">The name used in error messages.</param>
    /// <exception cref="ImageDataException">Not a v5 MAT-file, or corrupt.</exception>
    public static IReadOnlyDictionary<string, MatArray> Read(byte[] bytes, string fileName)
    {
        if (bytes.Length < 128)
            throw new ImageDataException(fileName, $"not a MATLAB v5 MAT-file (only {bytes.Length} bytes, the header alone has 128).");
        if (Encoding.ASCII.GetString(bytes, 0, 10).StartsWith("MATLAB 7.3", StringComparison.Ordinal) || bytes.AsSpan(0, 8).SequenceEqual("\x89HDF\r\n\x1a\n"u8))
            throw new ImageDataException(fileName, "MAT v7.3 (HDF5) files are not supported; save with -v7 or -v6.");
        bool bigEndian = bytes[126] == (byte)'M' && bytes[127] == (byte)'I';
        if (!bigEndian && !(bytes[126] == (byte)'I' && bytes[127] == (byte)'M'))
            throw new ImageDataException(fileName, "not a MATLAB v5 MAT-file (no 'IM'/'MI' endian indicator at byte 126).");

        var variables = new Dictionary<string, MatArray>(StringComparer.Ordinal);
        var reader = new Reader(bytes, bigEndian, fileName, 0, compressed: false);
        int position = 128;
        while (position + 8 <= bytes.Length)
        {
            int start = position;
            var element = reader.ReadElement(ref position, padded: false);
            MatArray? value = element.Type switch
            {
                MiCompressed => ReadCompressed(reader, element),
                MiMatrix => ReadPlain(reader, element, start),
                _ => null, // other top-level elements carry nothing we need
            };
            // Compressed elements are not padded, so the next element may start unaligned; padding of the
            // others counts from their own start.
            if (element.Type != MiCompressed) position = Math.Min(start + 8 + Align8(element.Length), bytes.Length);
            if (value is not null) variables[value.Name] = value;
        }
        if (position < bytes.Length && bytes.AsSpan(position).IndexOfAnyExcept((byte)0) >= 0)
            throw new ImageDataException(fileName, $"corrupt MAT-file at byte offset {position}: {bytes.Length - position} trailing bytes are not a whole element (truncated file?).");
        return variables;
    }

    /// <summary>An uncompressed top-level matrix, parsed from a copy so that sub-element padding counts from its start.</summary>
    private static MatArray ReadPlain(Reader outer, Element element, int start)
    {
        var copy = outer.Bytes.AsSpan(start, element.Offset + element.Length - start).ToArray();
        var inner = new Reader(copy, outer.BigEndian, outer.FileName, start, compressed: false);
        return inner.ReadMatrix(8, element.Length);
    }

    private static MatArray? ReadCompressed(Reader outer, Element element)
    {
        byte[] inflated;
        try
        {
            using var source = new MemoryStream(outer.Bytes, element.Offset, element.Length, writable: false);
            using var zlib = new ZLibStream(source, CompressionMode.Decompress);
            using var target = new MemoryStream();
            zlib.CopyTo(target);
            inflated = target.ToArray();
        }
        catch (InvalidDataException e)
        {
            throw new ImageDataException(outer.FileName, $"corrupt zlib data in the compressed element at byte offset {element.Offset - 8}: {e.Message}", null, e);
        }
        var inner = new Reader(inflated, outer.BigEndian, outer.FileName, element.Offset - 8, compressed: true);
        int position = 0;
        var matrix = inner.ReadElement(ref position, padded: true);
        return matrix.Type == MiMatrix ? inner.ReadMatrix(matrix.Offset, matrix.Length) : null;
    }

    private static int Align8(int value) => (value + 7) & ~7;

    private readonly record struct Element(int Type, int Offset, int Length);

    /// <summary>Bounds-checked element and matrix parsing over one buffer (the file, or an inflated element).</summary>
    // origin: file offset of the buffer's first byte (of the compressed element when compressed is true).
    private sealed class Reader(byte[] bytes, bool bigEndian, string fileName, int origin, bool compressed)
    {
        public byte[] Bytes => bytes;
        public bool BigEndian => bigEndian;
        public string FileName => fileName;

        private ImageDataException Corrupt(int offset, string what) => new(fileName,
            compressed ? $"corrupt MAT-file in the compressed element at byte offset {origin} (inflated offset {offset}): {what}"
                       : $"corrupt MAT-file at byte offset {origin + offset}: {what}");

        private uint U32(int offset)
        {
            if (offset < 0 || offset + 4 > bytes.Length) throw Corrupt(offset, "unexpected end of data");
            var s = bytes.AsSpan(offset, 4);
            return bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(s) : BinaryPrimitives.ReadUInt32LittleEndian(s);
        }

        /// <summary>Reads an element tag at <paramref name="position"/> (normal or small format) and advances past it.</summary>
        public Element ReadElement(ref int position, bool padded)
        {
            uint first = U32(position);
            Element element;
            if ((first >> 16) != 0)
            {
                // Small data element: byte count in the upper 16 bits, type in the lower, data in the next 4 bytes.
                int length = (int)(first >> 16);
                if (length > 4) throw Corrupt(position, $"small data element claims {length} bytes (at most 4)");
                element = new Element((int)(first & 0xFFFF), position + 4, length);
                position += 8;
            }
            else
            {
                uint length = U32(position + 4);
                if (length > (uint)(bytes.Length - position - 8)) throw Corrupt(position, $"element of type {first} claims {length} bytes, only {bytes.Length - position - 8} remain");
                element = new Element((int)first, position + 8, (int)length);
                position = element.Offset + element.Length;
                if (padded) position = Math.Min(Align8(position), bytes.Length);
            }
            return element;
        }

        private Element Expect(ref int position, int end, string what)
        {
            if (position + 8 > end) throw Corrupt(position, $"missing {what}");
            var e = ReadElement(ref position, padded: true);
            if (e.Offset + e.Length > end) throw Corrupt(e.Offset, $"{what} runs past the end of its array");
            return e;
        }

        public MatArray ReadMatrix(int offset, int length)
        {
            // An empty miMATRIX (zero bytes) is MATLAB's [] in struct fields and cells.
            if (length == 0) return new MatNumeric("", [0, 0], []);
            int end = offset + length, position = offset;

            var flags = Expect(ref position, end, "array flags");
            if (flags.Length < 8) throw Corrupt(flags.Offset, "array flags shorter than 8 bytes");
            int classId = (int)(U32(flags.Offset) & 0xFF);

            var dimsElement = Expect(ref position, end, "dimensions");
            var dims = ReadInts(dimsElement);
            if (dims.Length < 2 || dims.Any(d => d < 0)) throw Corrupt(dimsElement.Offset, $"invalid dimensions [{string.Join(',', dims)}]");
            long count = dims.Aggregate(1L, (a, d) => a * d);
            if (count > int.MaxValue) throw Corrupt(dimsElement.Offset, "array too large");

            var nameElement = Expect(ref position, end, "array name");
            string name = Encoding.ASCII.GetString(bytes, nameElement.Offset, nameElement.Length).TrimEnd('\0');

            switch (classId)
            {
                case MxCell:
                {
                    if (count * 8 > end - position) throw Corrupt(position, $"cell array of {count} cells does not fit in its element");
                    var cells = new MatArray[count];
                    for (int i = 0; i < count; i++) cells[i] = ReadNested(ref position, end, $"cell {i}");
                    return new MatCell(name, dims, cells);
                }
                case MxStruct:
                case MxObject:
                {
                    if (classId == MxObject) Expect(ref position, end, "object class name");
                    var lengthElement = Expect(ref position, end, "field name length");
                    int fieldNameLength = ReadInts(lengthElement).FirstOrDefault();
                    var namesElement = Expect(ref position, end, "field names");
                    if (fieldNameLength <= 0 || namesElement.Length % fieldNameLength != 0)
                        throw Corrupt(namesElement.Offset, $"field names of {namesElement.Length} bytes are not a multiple of the field name length {fieldNameLength}");
                    int fieldCount = namesElement.Length / fieldNameLength;
                    var fields = new List<string>(fieldCount);
                    for (int f = 0; f < fieldCount; f++)
                        fields.Add(Encoding.ASCII.GetString(bytes, namesElement.Offset + f * fieldNameLength, fieldNameLength).TrimEnd('\0'));
                    if (count * fieldCount * 8 > end - position) throw Corrupt(position, $"struct array of {count} elements x {fieldCount} fields does not fit in its element");
                    var elements = new MatArray[count][];
                    for (int i = 0; i < count; i++)
                    {
                        elements[i] = new MatArray[fieldCount];
                        for (int f = 0; f < fieldCount; f++) elements[i][f] = ReadNested(ref position, end, $"field '{fields[f]}' of element {i}");
                    }
                    return new MatStruct(name, dims, fields, elements);
                }
                case MxChar:
                {
                    var data = Expect(ref position, end, "char data");
                    string chars = DecodeChars(data);
                    if (chars.Length != count) throw Corrupt(data.Offset, $"char array has {chars.Length} characters, dimensions say {count}");
                    return new MatChar(name, dims, CharRows(chars, dims));
                }
                case >= 6 and <= 15:
                {
                    var real = Expect(ref position, end, "numeric data");
                    var values = ReadNumbers(real);
                    if (values.Length != count) throw Corrupt(real.Offset, $"numeric array has {values.Length} values, dimensions say {count}");
                    return new MatNumeric(name, dims, values);
                }
                default:
                    return new MatUnsupported(name, dims, classId);
            }
        }

        private MatArray ReadNested(ref int position, int end, string what)
        {
            var e = Expect(ref position, end, what);
            if (e.Type != MiMatrix) throw Corrupt(e.Offset - 8, $"{what} is of data type {e.Type}, expected miMATRIX (14)");
            return ReadMatrix(e.Offset, e.Length);
        }

        private int[] ReadInts(Element e) => ReadNumbers(e).Select(v => (int)v).ToArray();

        private double[] ReadNumbers(Element e)
        {
            int size = e.Type switch
            {
                MiInt8 or MiUInt8 => 1, MiInt16 or MiUInt16 => 2, MiInt32 or MiUInt32 or MiSingle => 4,
                MiDouble or MiInt64 or MiUInt64 => 8,
                _ => throw Corrupt(e.Offset - 8, $"data type {e.Type} is not numeric"),
            };
            if (e.Length % size != 0) throw Corrupt(e.Offset, $"{e.Length} bytes is not a whole number of {size}-byte values");
            var result = new double[e.Length / size];
            for (int i = 0; i < result.Length; i++)
            {
                var s = bytes.AsSpan(e.Offset + i * size, size);
                result[i] = e.Type switch
                {
                    MiInt8 => (sbyte)s[0],
                    MiUInt8 => s[0],
                    MiInt16 => bigEndian ? BinaryPrimitives.ReadInt16BigEndian(s) : BinaryPrimitives.ReadInt16LittleEndian(s),
                    MiUInt16 => bigEndian ? BinaryPrimitives.ReadUInt16BigEndian(s) : BinaryPrimitives.ReadUInt16LittleEndian(s),
                    MiInt32 => bigEndian ? BinaryPrimitives.ReadInt32BigEndian(s) : BinaryPrimitives.ReadInt32LittleEndian(s),
                    MiUInt32 => bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(s) : BinaryPrimitives.ReadUInt32LittleEndian(s),
                    MiSingle => bigEndian ? BinaryPrimitives.ReadSingleBigEndian(s) : BinaryPrimitives.ReadSingleLittleEndian(s),
                    MiDouble => bigEndian ? BinaryPrimitives.ReadDoubleBigEndian(s) : BinaryPrimitives.ReadDoubleLittleEndian(s),
                    MiInt64 => bigEndian ? BinaryPrimitives.ReadInt64BigEndian(s) : BinaryPrimitives.ReadInt64LittleEndian(s),
                    _ => bigEndian ? BinaryPrimitives.ReadUInt64BigEndian(s) : BinaryPrimitives.ReadUInt64LittleEndian(s),
                };
            }
            return result;
        }

        private string DecodeChars(Element e) => e.Type switch
        {
            MiUtf8 => Encoding.UTF8.GetString(bytes, e.Offset, e.Length),
            MiUtf16 or MiUInt16 => (bigEndian ? Encoding.BigEndianUnicode : Encoding.Unicode).GetString(bytes, e.Offset, e.Length & ~1),
            MiUtf32 => new UTF32Encoding(bigEndian, false).GetString(bytes, e.Offset, e.Length & ~3),
            MiInt8 or MiUInt8 => Encoding.Latin1.GetString(bytes, e.Offset, e.Length),
            _ => throw Corrupt(e.Offset - 8, $"char data of data type {e.Type} is not supported"),
        };

        /// <summary>Column-major chars to text: a vector as one string, a matrix as its rows joined by newlines.</summary>
        private static string CharRows(string chars, int[] dims)
        {
            int rows = dims[0];
            if (rows <= 1 || dims.Length > 2 || dims[1] <= 1) return chars;
            int cols = dims[1];
            var sb = new StringBuilder(chars.Length + rows);
            for (int r = 0; r < rows; r++)
            {
                if (r > 0) sb.Append('\n');
                for (int c = 0; c < cols; c++) sb.Append(chars[c * rows + r]);
            }
            return sb.ToString();
        }
    }
}
