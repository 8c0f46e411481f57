using EmbeddingDistillation.Networks;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Losses;

/// <summary>Options of <see cref="HintLoss"/>.</summary>
public sealed record HintLossOptions
{
    /// <summary>Add a BatchNorm2d after the 1x1 regressor. Default false (FitNets).</summary>
    public bool BatchNorm { get; init; }

    /// <summary>
    /// The student ("guided") and teacher ("hint") layers read by <see cref="FeatureMapDistillationLoss.Compute"/>.
    /// Default null: set it to train with the loss; <c>forward</c> alone needs none.
    /// </summary>
    public TapPair? Taps { get; init; }
}

/// <summary>
/// FitNets hint loss (Romero et al., ICLR 2015): a learnable 1x1 convolution (+ optional BatchNorm) regresses the
/// student map to the teacher's channel count; loss = MSE (mean over all elements) against the teacher map.
/// A student map of another spatial size is first resized bilinearly (align_corners false) to the teacher's size.
/// </summary>
public sealed class HintLoss : FeatureMapDistillationLoss
{
    private readonly Conv2d regressor;
    private readonly BatchNorm2d? norm;
    private readonly HintLossOptions _options;

    /// <summary>Creates the loss with a fresh regressor (PyTorch's default Conv2d initialisation).</summary>
    /// <param name="studentChannels">Channels of the student map.</param>
    /// <param name="teacherChannels">Channels of the teacher map.</param>
    /// <param name="options">Options; null for no BatchNorm and no taps.</param>
    public HintLoss(int studentChannels, int teacherChannels, HintLossOptions? options = null)
        : base(nameof(HintLoss), options?.Taps is { } taps ? [taps] : null)
    {
        if (studentChannels < 1) throw new ArgumentOutOfRangeException(nameof(studentChannels), studentChannels, "HintLoss: studentChannels must be >= 1.");
        if (teacherChannels < 1) throw new ArgumentOutOfRangeException(nameof(teacherChannels), teacherChannels, "HintLoss: teacherChannels must be >= 1.");
        _options = options ?? new HintLossOptions();
        StudentChannels = studentChannels;
        TeacherChannels = teacherChannels;
        regressor = nn.Conv2d(studentChannels, teacherChannels, 1);
        if (_options.BatchNorm) norm = nn.BatchNorm2d(teacherChannels);
        RegisterComponents();
    }

    /// <summary>Student channel count.</summary>
    public int StudentChannels { get; }

    /// <summary>Teacher channel count.</summary>
    public int TeacherChannels { get; }

    /// <summary>The 1x1 regressor.</summary>
    internal Conv2d Regressor => regressor;

    /// <inheritdoc />
    public override string Name => "hint";

    /// <summary>The loss for a student and a teacher map.</summary>
    /// <param name="studentMap">Student map [N, studentChannels, Hs, Ws].</param>
    /// <param name="teacherMap">Teacher map [N, teacherChannels, Ht, Wt] (no gradient flows into it).</param>
    public override Tensor forward(Tensor studentMap, Tensor teacherMap)
    {
        LossInputs.MapPair(studentMap, teacherMap, nameof(HintLoss));
        if (studentMap.shape[1] != StudentChannels)
            throw new ArgumentException($"HintLoss: expected {StudentChannels} student channels; got studentMap {LossInputs.Shape(studentMap)}.", nameof(studentMap));
        if (teacherMap.shape[1] != TeacherChannels)
            throw new ArgumentException($"HintLoss: expected {TeacherChannels} teacher channels; got teacherMap {LossInputs.Shape(teacherMap)}.", nameof(teacherMap));
        if (regressor.weight!.dtype != studentMap.dtype || regressor.weight.device_type != studentMap.device_type || regressor.weight.device_index != studentMap.device_index)
            throw new ArgumentException($"HintLoss: the regressor is {regressor.weight.dtype} on {regressor.weight.device} but the maps are {studentMap.dtype} on {studentMap.device}; move the loss with .to().", nameof(studentMap));
        using var scope = NewDisposeScope();
        var r = regressor.forward(FeatureMaps.MatchSpatial(studentMap, teacherMap));
        if (norm is not null) r = norm.forward(r);
        var loss = nn.functional.mse_loss(r, teacherMap.detach());
        return loss.MoveToOuterDisposeScope();
    }
}
