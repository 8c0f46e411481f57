using System.Runtime.InteropServices;
using SkiaSharp;

namespace EmbeddingDistillation.Vision;

/// <summary>
/// Decodes JPEG and PNG files (anything SkiaSharp's <see cref="SKCodec"/> reads) to RGB, applying the EXIF
/// orientation so the pixels are as displayed. Alpha is dropped without compositing (as PIL's convert("RGB")).
/// </summary>
internal static class ImageDecoder
{
    /// <summary>The largest image decoded, in pixels (guards memory against corrupt headers): 100 megapixels.</summary>
    public const long MaxPixels = 100_000_000;

    /// <summary>Reads and decodes <paramref name="path"/>.</summary>
    /// <param name="path">The image file.</param>
    /// <exception cref="ImageDataException">The file is missing, unreadable, not an image, truncated or corrupt.</exception>
    public static RgbImage Decode(string path)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (FileNotFoundException e) { throw new ImageDataException(path, "image file not found.", null, e); }
        catch (DirectoryNotFoundException e) { throw new ImageDataException(path, "image file not found (missing directory).", null, e); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new ImageDataException(path, "cannot read the image file: " + e.Message, null, e); }
        return Decode(bytes, path);
    }

    /// <summary>Decodes an encoded image held in memory.</summary>
    /// <param name="encoded">The file contents.</param>
    /// <param name="fileName">The name used in error messages.</param>
    /// <exception cref="ImageDataException">Not an image, truncated or corrupt.</exception>
    public static RgbImage Decode(byte[] encoded, string fileName)
    {
        using var data = Data(encoded, fileName);
        using var codec = Open(data, fileName);
        int width = codec.Info.Width, height = codec.Info.Height;
        var rgba = DecodePixels(codec, new SKSizeI(width, height), fileName);
        var rgb = new byte[width * height * 3];
        for (int p = 0, q = 0; p < rgb.Length; p += 3, q += 4)
        {
            rgb[p] = rgba[q];
            rgb[p + 1] = rgba[q + 1];
            rgb[p + 2] = rgba[q + 2];
        }
        return Orient(new RgbImage(width, height, rgb), codec.EncodedOrigin);
    }

    /// <summary>
    /// Checks that an encoded image decodes, keeping no pixels: the header, then every compressed byte. Unless
    /// <paramref name="fullDecode"/>, a JPEG is decoded at the smallest scale its codec offers (1/8 of each side):
    /// libjpeg still reads and entropy-decodes all of the file, so a truncated or corrupt file fails as in
    /// <see cref="Decode(byte[], string)"/>, for a fraction of the inverse DCT and colour work. PNG always decodes fully.
    /// </summary>
    /// <exception cref="ImageDataException">Not an image, truncated or corrupt (the same messages as Decode).</exception>
    internal static void Verify(byte[] encoded, string fileName, bool fullDecode)
    {
        using var data = Data(encoded, fileName);
        using var codec = Open(data, fileName);
        DecodePixels(codec, fullDecode ? codec.Info.Size : codec.GetScaledDimensions(1f / 8), fileName);
    }

    private static SKData Data(byte[] encoded, string fileName) =>
        encoded.Length == 0 ? throw new ImageDataException(fileName, "image file is empty.") : SKData.CreateCopy(encoded);

    /// <summary>The codec of a file whose header names a known format and a sane size.</summary>
    private static SKCodec Open(SKData data, string fileName)
    {
        var codec = SKCodec.Create(data)
            ?? throw new ImageDataException(fileName, "not a decodable image (unknown format or corrupt header).");
        int width = codec.Info.Width, height = codec.Info.Height;
        if (width <= 0 || height <= 0 || (long)width * height > MaxPixels)
        {
            codec.Dispose();
            throw new ImageDataException(fileName, $"image size {width}x{height} is invalid or above {MaxPixels} pixels.");
        }
        return codec;
    }

    /// <summary>Decodes to RGBA at <paramref name="size"/> (the full size, or one the codec can scale to).</summary>
    private static byte[] DecodePixels(SKCodec codec, SKSizeI size, string fileName)
    {
        var info = new SKImageInfo(size.Width, size.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var rgba = new byte[(long)size.Width * size.Height * 4];
        SKCodecResult result;
        var handle = GCHandle.Alloc(rgba, GCHandleType.Pinned);
        try { result = codec.GetPixels(info, handle.AddrOfPinnedObject()); }
        finally { handle.Free(); }
        // Skia fills the missing rows of a truncated file and reports IncompleteInput; PIL refuses such files, so do we.
        if (result != SKCodecResult.Success)
            throw new ImageDataException(fileName, $"image data is corrupt or truncated (decoder result: {result}).");
        return rgba;
    }

    /// <summary>Maps the stored pixels to their displayed orientation (EXIF orientation tag values 1-8).</summary>
    /// <param name="stored">The image as stored in the file.</param>
    /// <param name="origin">Where the stored first row/column appear when displayed.</param>
    internal static RgbImage Orient(RgbImage stored, SKEncodedOrigin origin)
    {
        if (origin is SKEncodedOrigin.TopLeft or 0) return stored;
        int w = stored.Width, h = stored.Height;
        bool swap = origin is SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom;
        int outW = swap ? h : w, outH = swap ? w : h;
        var src = stored.Pixels;
        var dst = new byte[src.Length];
        for (int y = 0; y < outH; y++)
        {
            for (int x = 0; x < outW; x++)
            {
                // Source column/row of displayed pixel (x, y), per the EXIF definition of each orientation.
                (int sx, int sy) = origin switch
                {
                    SKEncodedOrigin.TopRight => (w - 1 - x, y),
                    SKEncodedOrigin.BottomRight => (w - 1 - x, h - 1 - y),
                    SKEncodedOrigin.BottomLeft => (x, h - 1 - y),
                    SKEncodedOrigin.LeftTop => (y, x),
                    SKEncodedOrigin.RightTop => (y, h - 1 - x),
                    SKEncodedOrigin.RightBottom => (w - 1 - y, h - 1 - x),
                    SKEncodedOrigin.LeftBottom => (w - 1 - y, x),
                    _ => (x, y),
                };
                int s = (sy * w + sx) * 3, d = (y * outW + x) * 3;
                dst[d] = src[s];
                dst[d + 1] = src[s + 1];
                dst[d + 2] = src[s + 2];
            }
        }
        return new RgbImage(outW, outH, dst);
    }

    /// <summary>Encodes <paramref name="image"/> as JPEG at <paramref name="quality"/> (1-100) with SkiaSharp.</summary>
    /// <param name="image">The image.</param>
    /// <param name="quality">JPEG quality, 1-100.</param>
    public static byte[] EncodeJpeg(RgbImage image, int quality)
    {
        if (quality is < 1 or > 100)
            throw new ArgumentOutOfRangeException(nameof(quality), quality, "JPEG quality must be in [1, 100].");
        var rgba = new byte[image.Width * image.Height * 4];
        for (int p = 0, q = 0; p < image.Pixels.Length; p += 3, q += 4)
        {
            rgba[q] = image.Pixels[p];
            rgba[q + 1] = image.Pixels[p + 1];
            rgba[q + 2] = image.Pixels[p + 2];
            rgba[q + 3] = 255;
        }
        var info = new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        using var pixels = SKData.CreateCopy(rgba);
        using var skImage = SKImage.FromPixels(info, pixels, info.RowBytes);
        using var encoded = skImage.Encode(SKEncodedImageFormat.Jpeg, quality);
        return encoded.ToArray();
    }
}
