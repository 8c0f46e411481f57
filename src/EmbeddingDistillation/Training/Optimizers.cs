using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Training;

/// <summary>A parameter group and the multiplier of the base learning rate it trains with.</summary>
internal sealed record ParameterGroup(string Name, IReadOnlyList<Parameter> Parameters, double Multiplier);

/// <summary>
/// The trainer's optimiser: Adam (L2 decay added to the gradient), AdamW (decoupled decay) or SGD with momentum,
/// operation for operation as TorchSharp 0.107's <c>optim.Adam</c>/<c>AdamW</c>/<c>SGD</c> (PyTorch's defaults:
/// betas 0.9/0.999, eps 1e-8, no dampening, no Nesterov), so results are bit-identical to them.
/// </summary>
/// <remarks>
/// Why not TorchSharp's own: its optimisers pass every scalar operand as an implicitly converted
/// <see cref="Scalar"/> that nothing references during the native call, so a garbage collection triggered by
/// another thread (a progress display, an image loader) can finalise and free it while libtorch reads it
/// (TorchSharp PRs #1434/#1496; seen here as "Expected false to be true ... toFloat" in AdamW.step, one quickstart
/// run in four). Here every scalar is created once per step and disposed after the last call that reads it.
/// </remarks>
internal sealed class Optimizer : IDisposable
{
    private const double Beta1 = 0.9, Beta2 = 0.999, Epsilon = 1e-8;

    private readonly OptimizerKind _kind;
    private readonly double _weightDecay;
    private readonly double _momentum;
    private readonly Group[] _groups;

    private Optimizer(OptimizerKind kind, double weightDecay, double momentum, Group[] groups)
    {
        _kind = kind;
        _weightDecay = weightDecay;
        _momentum = momentum;
        _groups = groups;
    }

    /// <summary>Builds the run's optimiser with one group per non-empty <see cref="ParameterGroup"/>.</summary>
    public static Optimizer Create(TrainingOptions o, IReadOnlyList<ParameterGroup> groups)
    {
        if (!Enum.IsDefined(o.Optimizer)) throw new ArgumentOutOfRangeException(nameof(o), o.Optimizer, "Unknown optimiser.");
        var nonEmpty = groups.Where(g => g.Parameters.Count > 0)
            .Select(g => new Group(g.Parameters.Select(p => new Slot(p)).ToArray(), g.Multiplier) { LearningRate = o.LearningRate * g.Multiplier })
            .ToArray();
        return new Optimizer(o.Optimizer, o.WeightDecay, o.Momentum, nonEmpty);
    }

    /// <summary>Sets every group's rate to base * group multiplier * schedule factor.</summary>
    public void SetLearningRates(double baseRate, double factor)
    {
        foreach (var g in _groups) g.LearningRate = baseRate * g.Multiplier * factor;
    }

    /// <summary>Zeroes the gradients in place (as TorchSharp's <c>zero_grad</c>; gradients are kept, not dropped).</summary>
    public void ZeroGrad()
    {
        foreach (var slot in _groups.SelectMany(g => g.Slots))
        {
            using var grad = slot.Parameter.grad;
            if (grad is null) continue;
            grad.requires_grad_(false);
            grad.zero_();
        }
    }

    /// <summary>One update of every parameter that has a gradient.</summary>
    public void Step()
    {
        using var noGrad = no_grad();
        foreach (var group in _groups)
        {
            switch (_kind)
            {
                case OptimizerKind.Sgd: StepSgd(group); break;
                default: StepAdam(group, decoupled: _kind == OptimizerKind.AdamW); break;
            }
        }
    }

    private void StepAdam(Group group, bool decoupled)
    {
        double lr = group.LearningRate;
        using var beta1 = Beta1.ToScalar();
        using var beta2 = Beta2.ToScalar();
        using var oneMinusBeta1 = (1 - Beta1).ToScalar();
        using var oneMinusBeta2 = (1 - Beta2).ToScalar();
        using var eps = Epsilon.ToScalar();
        using var decay = _weightDecay.ToScalar();
        using var shrink = (1 - lr * _weightDecay).ToScalar();
        foreach (var slot in group.Slots)
        {
            using var perParameter = NewDisposeScope(); // temporaries of one parameter at a time
            var p = slot.Parameter;
            var grad = p.grad;
            if (grad is null) continue;
            slot.Step++;
            slot.ExpAvg ??= zeros_like(p).DetachFromDisposeScope();
            slot.ExpAvgSq ??= zeros_like(p).DetachFromDisposeScope();
            if (decoupled) p.mul_(shrink);
            double biasCorrection1 = 1 - Math.Pow(Beta1, slot.Step);
            double biasCorrection2 = 1 - Math.Pow(Beta2, slot.Step);
            if (!decoupled && _weightDecay != 0) grad = grad.add(p, alpha: decay);
            slot.ExpAvg.mul_(beta1).add_(grad, alpha: oneMinusBeta1);
            slot.ExpAvgSq.mul_(beta2).addcmul_(grad, grad, value: oneMinusBeta2);
            using var sqrtCorrection2 = Math.Sqrt(biasCorrection2).ToScalar();
            using var negativeStep = (-(lr / biasCorrection1)).ToScalar();
            var denom = slot.ExpAvgSq.sqrt().div_(sqrtCorrection2).add_(eps);
            p.addcdiv_(slot.ExpAvg, denom, value: negativeStep);
        }
    }

    private void StepSgd(Group group)
    {
        using var decay = _weightDecay.ToScalar();
        using var momentum = _momentum.ToScalar();
        using var one = 1.0.ToScalar();
        using var negativeRate = (-group.LearningRate).ToScalar();
        foreach (var slot in group.Slots)
        {
            using var perParameter = NewDisposeScope();
            var p = slot.Parameter;
            var grad = p.grad;
            if (grad is null) continue;
            if (_weightDecay != 0) grad = grad.add(p, alpha: decay);
            if (_momentum != 0)
            {
                if (slot.ExpAvg is null) slot.ExpAvg = grad.clone().detach().DetachFromDisposeScope();
                else slot.ExpAvg.mul_(momentum).add_(grad, alpha: one);
                grad = slot.ExpAvg;
            }
            p.add_(grad, alpha: negativeRate);
        }
    }

    /// <summary>Writes the state (per parameter: step count and moment buffers) in parameter order.</summary>
    public void Save(BinaryWriter writer)
    {
        writer.Write((int)_kind);
        writer.Write(_groups.Sum(g => g.Slots.Length));
        foreach (var slot in _groups.SelectMany(g => g.Slots))
        {
            writer.Write(slot.Step);
            WriteOptional(writer, slot.ExpAvg);
            WriteOptional(writer, slot.ExpAvgSq);
        }
    }

    /// <summary>Reads a state written by <see cref="Save"/> for the same parameters.</summary>
    /// <exception cref="InvalidDataException">Another optimiser or another parameter list.</exception>
    public void Load(BinaryReader reader)
    {
        var kind = (OptimizerKind)reader.ReadInt32();
        int count = reader.ReadInt32();
        var slots = _groups.SelectMany(g => g.Slots).ToArray();
        if (kind != _kind) throw new InvalidDataException($"the checkpoint holds the state of {kind}, but the run uses {_kind}");
        if (count != slots.Length) throw new InvalidDataException($"the checkpoint's optimiser holds {count} parameters, but the run trains {slots.Length}");
        foreach (var slot in slots)
        {
            slot.Step = reader.ReadInt64();
            slot.ExpAvg = ReadOptional(reader, slot.Parameter, slot.ExpAvg);
            slot.ExpAvgSq = ReadOptional(reader, slot.Parameter, slot.ExpAvgSq);
        }
    }

    public void Dispose()
    {
        foreach (var slot in _groups.SelectMany(g => g.Slots))
        {
            slot.ExpAvg?.Dispose();
            slot.ExpAvgSq?.Dispose();
        }
    }

    private static void WriteOptional(BinaryWriter writer, Tensor? t)
    {
        writer.Write(t is not null);
        if (t is null) return;
        using var cpu = t.cpu();
        cpu.Save(writer);
    }

    private static Tensor? ReadOptional(BinaryReader reader, Parameter like, Tensor? old)
    {
        old?.Dispose();
        if (!reader.ReadBoolean()) return null;
        var t = zeros_like(like, device: CPU).DetachFromDisposeScope();
        t.Load(reader);
        if (!t.shape.SequenceEqual(like.shape))
            throw new InvalidDataException($"an optimiser buffer has shape [{string.Join(", ", t.shape)}] for a parameter of shape [{string.Join(", ", like.shape)}]");
        var onDevice = t.to(like.device).DetachFromDisposeScope();
        if (!ReferenceEquals(onDevice, t)) t.Dispose();
        return onDevice;
    }

    /// <summary>A parameter and its state.</summary>
    private sealed class Slot(Parameter parameter)
    {
        public Parameter Parameter { get; } = parameter;
        public long Step;
        /// <summary>Adam: the first moment; SGD: the momentum buffer.</summary>
        public Tensor? ExpAvg;
        public Tensor? ExpAvgSq;
    }

    private sealed class Group(Slot[] slots, double multiplier)
    {
        public Slot[] Slots { get; } = slots;
        public double Multiplier { get; } = multiplier;
        public double LearningRate { get; set; }
    }
}
