using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Training;

/// <summary>
/// An exponential moving average of a network's floating-point state (parameters and batch-norm statistics; Polyak
/// averaging as in timm's <c>ModelEmaV2</c>): after every optimiser step avg ← d·avg + (1 − d)·w, with the effective
/// decay d = min(decay, (1 + t) / (10 + t)) at update t so that the first steps are not dominated by the
/// initialisation (TensorFlow's <c>ExponentialMovingAverage</c> with <c>num_updates</c>). Integer buffers (batch
/// norm's step counters) are not averaged. <see cref="Swap"/> exchanges the live and the averaged values in place,
/// exactly (copies, no arithmetic), so validation, checkpoints and the returned network can use either.
/// </summary>
internal sealed class WeightAverage : IDisposable
{
    private readonly (Tensor Live, Tensor Average)[] _pairs;
    private readonly double _decay;

    public WeightAverage(nn.Module module, double decay)
    {
        _decay = decay;
        using var noGrad = no_grad();
        _pairs = module.state_dict().Values
            .Where(t => t.is_floating_point())
            .Select(t => (t, t.detach().clone().DetachFromDisposeScope()))
            .ToArray();
    }

    /// <summary>The decay the update after <paramref name="updatesSoFar"/> earlier updates uses.</summary>
    public double EffectiveDecay(long updatesSoFar) => Math.Min(_decay, (1.0 + updatesSoFar) / (10.0 + updatesSoFar));

    /// <summary>Moves the average towards the live values (call after each optimiser step).</summary>
    public void Update(long updatesSoFar)
    {
        double d = EffectiveDecay(updatesSoFar);
        using var noGrad = no_grad();
        // Explicit scalars, held to the end (TorchSharp's implicit Scalar temporaries are not disposed).
        using var keep = d.ToScalar();
        using var take = (1.0 - d).ToScalar();
        foreach (var (live, average) in _pairs) average.mul_(keep).add_(live, take);
    }

    /// <summary>Exchanges the live and the averaged values (calling it twice restores both bit for bit).</summary>
    public void Swap()
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        foreach (var (live, average) in _pairs)
        {
            var held = live.clone();
            live.copy_(average);
            average.copy_(held);
        }
    }

    public void Dispose()
    {
        foreach (var (_, average) in _pairs) average.Dispose();
    }
}
