namespace EmbeddingDistillation.Training;

/// <summary>Where a run stands: everything besides tensors that a checkpoint must carry to resume exactly.</summary>
internal sealed class RunState
{
    public int FormatVersion { get; set; } = 1;
    public int Seed { get; set; }
    public int Epoch { get; set; }
    public int StepInEpoch { get; set; }
    public int GlobalStep { get; set; }
    public double? BestMetric { get; set; }
    public int? BestEpoch { get; set; }
    public int ValidationsWithoutImprovement { get; set; }
    public bool StoppedEarly { get; set; }
    public List<EpochRecord> History { get; set; } = [];
    public List<ValidationRecord> Validations { get; set; } = [];
    /// <summary>Sums of the current epoch's losses so far (a resume mid-epoch keeps the epoch mean right).</summary>
    public double EpochLossSum { get; set; }
    public Dictionary<string, double> EpochTermSums { get; set; } = [];
    public int EpochStepsCounted { get; set; }
    /// <summary>Steps skipped for non-finite values over the run, and in a row up to now.</summary>
    public int SkippedSteps { get; set; }
    public int ConsecutiveSkippedSteps { get; set; }
    /// <summary>An epoch ended but its validation did not run (the run was cancelled first): a resume runs it first.</summary>
    public bool PendingValidation { get; set; }
}
