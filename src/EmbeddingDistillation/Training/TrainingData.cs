using EmbeddingDistillation.Data;

namespace EmbeddingDistillation.Training;

/// <summary>The data of a training run: labelled batches, optional unlabelled batches, and the validator.</summary>
public sealed class TrainingData
{
    /// <summary>The labelled training set.</summary>
    public required IEmbeddingDataset Train { get; init; }

    /// <summary>Batches of <see cref="Train"/> (e.g. a class-balanced P x K sampler).</summary>
    public required IBatchSampler Sampler { get; init; }

    /// <summary>
    /// Unlabelled images for semi-supervised distillation: their batches carry only the distillation terms.
    /// Null for none.
    /// </summary>
    public IEmbeddingDataset? Unlabelled { get; init; }

    /// <summary>Batches of <see cref="Unlabelled"/>; required when <see cref="Unlabelled"/> is set.</summary>
    public IBatchSampler? UnlabelledSampler { get; init; }

    /// <summary>Unlabelled batches per labelled batch (default 1; 0.5 means one every other labelled batch).</summary>
    public double UnlabelledRatio { get; init; } = 1.0;

    /// <summary>Whether training batches are augmented (default true).</summary>
    public bool Augment { get; init; } = true;

    /// <summary>Scores the network on validation classes; null to skip validation.</summary>
    public IValidator? Validator { get; init; }
}
