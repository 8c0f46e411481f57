using EmbeddingDistillation.Vision;

namespace EmbeddingDistillation.Tests.Vision;

public class MatFileTests
{
    private static byte[] Sample(bool compress, bool bigEndian = false) => new MatV5Writer(bigEndian)
        .Add("x", new MatV5Writer.Numeric(MatV5Writer.MxDouble, MatV5Writer.MiDouble, [1.5, -2, 3, 4, 5, 6], Rows: 2), compress)
        .Add("names", new MatV5Writer.Cell([new MatV5Writer.Chars("ab"), new MatV5Writer.Chars("Ünïcode")]), compress)
        .Add("s", new MatV5Writer.Struct(["id", "label"],
        [
            [new MatV5Writer.Numeric(MatV5Writer.MxUInt8, MatV5Writer.MiUInt8, [7]), new MatV5Writer.Chars("seven")],
            [new MatV5Writer.Numeric(MatV5Writer.MxInt32, MatV5Writer.MiInt32, [-3]), new MatV5Writer.Chars("")],
        ]), compress)
        .ToArray();

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void ReadsNumericCellCharAndStructArrays(bool compress, bool bigEndian)
    {
        var vars = MatFile.Read(Sample(compress, bigEndian), "sample.mat");
        var x = Assert.IsType<MatNumeric>(vars["x"]);
        Assert.Equal(new[] { 2, 3 }, x.Dimensions);
        Assert.Equal(new[] { 1.5, -2, 3, 4, 5, 6 }, x.Values);
        var names = Assert.IsType<MatCell>(vars["names"]);
        Assert.Equal(["ab", "Ünïcode"], names.Cells.Cast<MatChar>().Select(c => c.Text));
        var s = Assert.IsType<MatStruct>(vars["s"]);
        Assert.Equal(["id", "label"], s.FieldNames);
        Assert.Equal(7, Assert.IsType<MatNumeric>(s.Get(0, "id")).Values[0]);
        Assert.Equal(-3, Assert.IsType<MatNumeric>(s.Get(1, "id")).Values[0]);
        Assert.Equal("seven", Assert.IsType<MatChar>(s.Get(0, "label")).Text);
        Assert.Null(s.Get(0, "missing"));
    }

    [Fact]
    public void TruncatedFileNamesTheFileAndOffset()
    {
        var bytes = Sample(false);
        for (int cut = 130; cut < bytes.Length; cut += 37)
        {
            var e = Assert.Throws<ImageDataException>(() => MatFile.Read(bytes[..cut], "cut.mat"));
            Assert.Contains("cut.mat", e.Message);
        }
    }

    [Fact]
    public void CorruptCompressedDataIsReported()
    {
        var bytes = Sample(true);
        for (int i = 140; i < 160; i++) bytes[i] ^= 0x5A; // inside the first zlib stream
        var e = Assert.Throws<ImageDataException>(() => MatFile.Read(bytes, "bad.mat"));
        Assert.Contains("bad.mat", e.Message);
    }

    [Fact]
    public void RandomBytesNeverCrash()
    {
        var random = new Random(5);
        var good = Sample(false);
        for (int trial = 0; trial < 200; trial++)
        {
            var bytes = (byte[])good.Clone();
            for (int k = 0; k < 4; k++) bytes[128 + random.Next(bytes.Length - 128)] = (byte)random.Next(256);
            try { MatFile.Read(bytes, "fuzz.mat"); }
            catch (ImageDataException e) { Assert.Contains("fuzz.mat", e.Message); }
        }
    }

    [Fact]
    public void NonMatFilesAreRejected()
    {
        Assert.Contains("not a MATLAB v5", Assert.Throws<ImageDataException>(() => MatFile.Read(new byte[200], "zeros.mat")).Message);
        Assert.Contains("short.mat", Assert.Throws<ImageDataException>(() => MatFile.Read(new byte[10], "short.mat")).Message);
        Assert.Contains("not found", Assert.Throws<ImageDataException>(() => MatFile.Read("/nonexistent/cars_annos.mat")).Message);
    }

    [Fact]
    public void CarsReaderNamesAMissingField()
    {
        using var dir = new TempDir();
        var bytes = new MatV5Writer()
            .Add("annotations", new MatV5Writer.Struct(["relative_im_path", "class"], [[new MatV5Writer.Chars("car_ims/1.jpg"), new MatV5Writer.Numeric(MatV5Writer.MxDouble, MatV5Writer.MiDouble, [1])]]), true)
            .ToArray();
        File.WriteAllBytes(Path.Combine(dir.Path, "cars_annos.mat"), bytes);
        var e = Assert.Throws<ImageDataException>(() => Cars196.Read(dir.Path));
        Assert.Contains("cars_annos.mat", e.Message);
        Assert.Contains("bbox_x1", e.Message);
    }
}
