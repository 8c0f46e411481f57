namespace EmbeddingDistillation.Training;

/// <summary>Where a training step first produced NaN or an infinity.</summary>
public enum NonFiniteLocation
{
    /// <summary>The trained network's embeddings (its forward pass).</summary>
    StudentEmbeddings,
    /// <summary>The frozen teacher's embeddings (its forward pass, or its cached outputs).</summary>
    TeacherEmbeddings,
    /// <summary>One loss term (named by <see cref="NonFiniteTrainingException.Term"/>) with finite inputs.</summary>
    Term,
    /// <summary>The weighted sum of finite terms overflowed.</summary>
    TotalLoss,
    /// <summary>The parameters' gradients (the backward pass) with a finite loss.</summary>
    Gradients,
}

/// <summary>
/// Thrown by the trainer at the first step whose student embeddings, teacher embeddings, loss terms or gradients are
/// not finite. Nothing of that step is applied (no optimiser step, no checkpoint): the last checkpoint on disk
/// stays the last good one. Set <see cref="TrainingOptions.NonFiniteSteps"/> to
/// <see cref="NonFiniteStepPolicy.Skip"/> to skip such steps instead.
/// </summary>
public sealed class NonFiniteTrainingException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="runName">The run (<see cref="TrainingOptions.RunName"/>, else the network's name).</param>
    /// <param name="epoch">The epoch of the step, 1-based.</param>
    /// <param name="step">The step, 1-based over the whole run.</param>
    /// <param name="location">Where the first non-finite value appeared.</param>
    /// <param name="term">The term's name when <paramref name="location"/> is <see cref="NonFiniteLocation.Term"/>.</param>
    /// <param name="message">The full message.</param>
    public NonFiniteTrainingException(string runName, int epoch, int step, NonFiniteLocation location, string? term, string message)
        : base(message)
    {
        RunName = runName;
        Epoch = epoch;
        Step = step;
        Location = location;
        Term = term;
    }

    /// <summary>The run's name.</summary>
    public string RunName { get; }

    /// <summary>The epoch of the failing step, 1-based.</summary>
    public int Epoch { get; }

    /// <summary>The failing step, 1-based over the whole run (a resumed run keeps counting).</summary>
    public int Step { get; }

    /// <summary>Where the first non-finite value appeared.</summary>
    public NonFiniteLocation Location { get; }

    /// <summary>The loss term's name for <see cref="NonFiniteLocation.Term"/>, else null.</summary>
    public string? Term { get; }
}
