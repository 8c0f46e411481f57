using EmbeddingDistillation.Networks;

namespace EmbeddingDistillation.Samples.PaperPipelines;

/// <summary>The teacher and student taps that the hint and attention terms read.</summary>
/// <param name="Teacher">The teacher's tap.</param>
/// <param name="Student">The student's tap.</param>
public sealed record FeatureTapPair(TapInfo Teacher, TapInfo Student)
{
    /// <summary>
    /// Picks the taps: with <paramref name="spec"/> (<c>teacherTap:studentTap</c>) those; otherwise the teacher's
    /// deepest tap at half its final resolution (stride = final stride / 2: ResNet <c>layer3</c>) and the student's
    /// deepest tap with the same stride (MobileNetV1 <c>stage4</c>, ResNet-18 <c>layer3</c>), so that both maps
    /// have the same spatial size (14 x 14 at 224 px). Without an equal stride, the student's tap with the nearest
    /// stride is used (the losses then resize the student map bilinearly).
    /// </summary>
    /// <param name="teacher">The teacher network.</param>
    /// <param name="student">The student network.</param>
    /// <param name="spec">Explicit taps, or null.</param>
    /// <exception cref="ArgumentException">A named tap does not exist (the message lists the valid ones).</exception>
    public static FeatureTapPair Select(EmbeddingNetwork teacher, EmbeddingNetwork student, string? spec)
    {
        ArgumentNullException.ThrowIfNull(teacher);
        ArgumentNullException.ThrowIfNull(student);
        if (spec is not null)
        {
            var parts = spec.Split(':');
            if (parts.Length != 2) throw new ArgumentException($"Feature taps must be teacherTap:studentTap, got '{spec}'.", nameof(spec));
            return new FeatureTapPair(Find(teacher, parts[0].Trim(), "teacher"), Find(student, parts[1].Trim(), "student"));
        }
        var finalStride = teacher.Taps[^1].Stride;
        var t = teacher.Taps.LastOrDefault(x => x.Stride * 2 == finalStride) ?? teacher.Taps[^1];
        var s = student.Taps.LastOrDefault(x => x.Stride == t.Stride)
            ?? student.Taps.OrderBy(x => Math.Abs(Math.Log2((double)x.Stride / t.Stride))).ThenByDescending(x => x.Stride).First();
        return new FeatureTapPair(t, s);
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Teacher.Name} ({Teacher.Channels} ch, stride {Teacher.Stride}) <- {Student.Name} ({Student.Channels} ch, stride {Student.Stride})";

    private static TapInfo Find(EmbeddingNetwork net, string name, string role) =>
        net.Taps.FirstOrDefault(x => x.Name == name)
        ?? throw new ArgumentException($"The {role} {net.Name} has no tap '{name}'; its taps are {string.Join(", ", net.Taps.Select(x => x.Name))}.");
}
