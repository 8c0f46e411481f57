namespace EmbeddingDistillation.Training;

/// <summary>
/// The steps of an epoch: the labelled sampler's batches with unlabelled batches interleaved evenly at
/// <see cref="TrainingData.UnlabelledRatio"/> (after labelled batch i come floor((i+1)r) - floor(ir) unlabelled ones).
/// </summary>
internal sealed class BatchSchedule(TrainingData data)
{
    public int StepsPerEpoch { get; } = data.Sampler.BatchesPerEpoch
        + (data.Unlabelled is null ? 0 : (int)Math.Floor(data.Sampler.BatchesPerEpoch * data.UnlabelledRatio + 1e-9));

    public IReadOnlyList<(bool Unlabelled, int[] Indices)> Epoch(int epoch)
    {
        var labelled = data.Sampler.Epoch(epoch);
        if (data.Unlabelled is null) return labelled.Select(b => (false, b)).ToArray();
        var unlabelled = data.UnlabelledSampler!.Epoch(epoch);
        if (unlabelled.Count == 0)
            throw new InvalidOperationException("The unlabelled sampler yields no batch.");
        var steps = new List<(bool, int[])>();
        int u = 0;
        for (int i = 0; i < labelled.Count; i++)
        {
            steps.Add((false, labelled[i]));
            int extra = (int)Math.Floor((i + 1) * data.UnlabelledRatio + 1e-9) - (int)Math.Floor(i * data.UnlabelledRatio + 1e-9);
            for (int k = 0; k < extra; k++) steps.Add((true, unlabelled[u++ % unlabelled.Count]));
        }
        return steps;
    }
}
