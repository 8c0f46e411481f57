using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Training;

/// <summary>A parameter group and the multiplier of the base learning rate it trains with.</summary>
internal sealed record ParameterGroup(string Name, IReadOnlyList<Parameter> Parameters, double Multiplier);

/// <summary>Builds the run's optimiser with one parameter group per <see cref="ParameterGroup"/>.</summary>
internal static class Optimizers
{
    public static optim.Optimizer Create(TrainingOptions o, IReadOnlyList<ParameterGroup> groups)
    {
        var nonEmpty = groups.Where(g => g.Parameters.Count > 0).ToArray();
        switch (o.Optimizer)
        {
            case OptimizerKind.Adam:
                return optim.Adam(nonEmpty.Select(g => new Adam.ParamGroup(g.Parameters, lr: o.LearningRate * g.Multiplier, weight_decay: o.WeightDecay)),
                    lr: o.LearningRate, weight_decay: o.WeightDecay);
            case OptimizerKind.AdamW:
                return optim.AdamW(nonEmpty.Select(g => new AdamW.ParamGroup(g.Parameters, lr: o.LearningRate * g.Multiplier, weight_decay: o.WeightDecay)),
                    lr: o.LearningRate, weight_decay: o.WeightDecay);
            case OptimizerKind.Sgd:
                return optim.SGD(nonEmpty.Select(g => new SGD.ParamGroup(g.Parameters, lr: o.LearningRate * g.Multiplier, momentum: o.Momentum, weight_decay: o.WeightDecay)),
                    o.LearningRate, momentum: o.Momentum, weight_decay: o.WeightDecay);
            default:
                throw new ArgumentOutOfRangeException(nameof(o), o.Optimizer, "Unknown optimiser.");
        }
    }

    /// <summary>Sets every group's rate to base * group multiplier * schedule factor.</summary>
    public static void SetLearningRates(optim.Optimizer optimizer, IReadOnlyList<ParameterGroup> groups, double baseRate, double factor)
    {
        var multipliers = groups.Where(g => g.Parameters.Count > 0).Select(g => g.Multiplier).ToArray();
        int i = 0;
        foreach (var group in optimizer.ParamGroups)
            group.LearningRate = baseRate * multipliers[i++] * factor;
    }
}
