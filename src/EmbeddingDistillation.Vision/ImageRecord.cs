namespace EmbeddingDistillation.Vision;

/// <summary>
/// An axis-aligned box in pixel coordinates of the displayed image (after EXIF orientation): the left/top edge
/// is at (<see cref="X"/>, <see cref="Y"/>), 0-based, and the box spans <see cref="Width"/> x <see cref="Height"/> pixels.
/// </summary>
/// <param name="X">Left edge in pixels (0 = first column).</param>
/// <param name="Y">Top edge in pixels (0 = first row).</param>
/// <param name="Width">Width in pixels (positive).</param>
/// <param name="Height">Height in pixels (positive).</param>
public readonly record struct BoundingBox(double X, double Y, double Width, double Height)
{
    /// <summary>
    /// The integer pixel rectangle covered by the box, clipped to an image of <paramref name="imageWidth"/> x
    /// <paramref name="imageHeight"/>; at least one pixel wide and high so a degenerate box never yields an empty image.
    /// </summary>
    /// <param name="imageWidth">Width of the image the box lies in.</param>
    /// <param name="imageHeight">Height of the image the box lies in.</param>
    public (int Left, int Top, int Width, int Height) ToPixelRect(int imageWidth, int imageHeight)
    {
        int left = Math.Clamp((int)Math.Floor(X), 0, imageWidth - 1);
        int top = Math.Clamp((int)Math.Floor(Y), 0, imageHeight - 1);
        int right = Math.Clamp((int)Math.Ceiling(X + Width), left + 1, imageWidth);
        int bottom = Math.Clamp((int)Math.Ceiling(Y + Height), top + 1, imageHeight);
        return (left, top, right - left, bottom - top);
    }
}

/// <summary>One annotated image of a dataset layout.</summary>
/// <param name="RelativePath">Path of the image file relative to the dataset root, with '/' separators.</param>
/// <param name="ClassId">The dataset's own class id (CUB and Cars-196: 1-based as in the official files; SOP: class_id; image folders: 0-based folder index).</param>
/// <param name="Box">Optional bounding box of the object.</param>
/// <param name="SuperClassId">Stanford Online Products super-class id (null elsewhere).</param>
/// <param name="OfficialTrain">The official train/test flag of the annotation files, when they carry one (CUB, Cars-196, SOP); the paper's splits ignore it and split by class.</param>
public sealed record ImageRecord(string RelativePath, int ClassId, BoundingBox? Box = null, int? SuperClassId = null, bool? OfficialTrain = null);
