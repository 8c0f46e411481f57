using EmbeddingDistillation.Evaluation;

namespace EmbeddingDistillation.Samples.PaperPipelines;

/// <summary>The three benchmarks of the paper.</summary>
public enum PaperDataset
{
    /// <summary>CUB-200-2011 (birds).</summary>
    Cub,
    /// <summary>Cars-196 (Stanford Cars).</summary>
    Cars,
    /// <summary>Stanford Online Products.</summary>
    Sop,
}

/// <summary>
/// The paper's hyperparameters for one dataset ("Learning Metrics from Teachers", CVPR 2019, and its public run
/// script): P x K = 4 x 8 batches, Adam with weight decay 2e-4, 224 px crops, 512-d embeddings, ResNet-101 teacher,
/// the lambda of the absolute and relative teachers, the Recall@K cut-offs, and the training length.
/// </summary>
/// <param name="Dataset">The dataset.</param>
/// <param name="DisplayName">Its name in reports.</param>
/// <param name="AbsoluteWeight">lambda of the absolute teacher (CUB 1.0, Cars 1.5, SOP 2.0).</param>
/// <param name="RelativeWeight">lambda of the relative teacher (CUB 0.3, Cars 0.1, SOP 1.0).</param>
/// <param name="LearningRate">Adam learning rate (1e-5 for CUB and Cars; the original run script uses 1e-6 for SOP).</param>
/// <param name="Epochs">Epochs of the original run script (CUB 2000, Cars 3000, SOP 50), where an epoch draws K images of every training class once, i.e. training classes / P batches.</param>
/// <param name="RecallKs">Recall@K cut-offs (CUB/Cars 1, 2, 4, 8, 16; SOP 1, 10, 100, 1000).</param>
public sealed record PaperPreset(PaperDataset Dataset, string DisplayName, double AbsoluteWeight, double RelativeWeight,
    double LearningRate, int Epochs, IReadOnlyList<int> RecallKs)
{
    /// <summary>Classes per batch (P = 4).</summary>
    public int ClassesPerBatch { get; init; } = 4;

    /// <summary>Images per class in a batch (K = 8): batches of 32.</summary>
    public int ImagesPerClass { get; init; } = 8;

    /// <summary>Adam weight decay (2e-4).</summary>
    public double WeightDecay { get; init; } = 2e-4;

    /// <summary>Crop size in pixels (224; the resize is 256).</summary>
    public int ImageSize { get; init; } = 224;

    /// <summary>Embedding dimension (512).</summary>
    public int EmbeddingDimension { get; init; } = 512;

    /// <summary>The teacher network (ResNet-101).</summary>
    public string Teacher { get; init; } = "resnet101";

    /// <summary>The student networks of the paper (MobileNetV1-0.25 and ResNet-18).</summary>
    public IReadOnlyList<string> Students { get; init; } = ["mobilenetv1-0.25", "resnet18"];

    /// <summary>CUB-200-2011: lambda 1.0 / 0.3, lr 1e-5, 2000 epochs, Recall@{1,2,4,8,16}.</summary>
    public static PaperPreset Cub { get; } = new(PaperDataset.Cub, "CUB-200-2011", 1.0, 0.3, 1e-5, 2000, RecallPresets.CubCars);

    /// <summary>Cars-196: lambda 1.5 / 0.1, lr 1e-5, 3000 epochs, Recall@{1,2,4,8,16}.</summary>
    public static PaperPreset Cars { get; } = new(PaperDataset.Cars, "Cars-196", 1.5, 0.1, 1e-5, 3000, RecallPresets.CubCars);

    /// <summary>Stanford Online Products: lambda 2.0 / 1.0, lr 1e-6, 50 epochs, Recall@{1,10,100,1000}.</summary>
    public static PaperPreset Sop { get; } = new(PaperDataset.Sop, "Stanford Online Products", 2.0, 1.0, 1e-6, 50, RecallPresets.Sop);

    /// <summary>The preset of <paramref name="dataset"/>.</summary>
    /// <param name="dataset">The dataset.</param>
    public static PaperPreset For(PaperDataset dataset) => dataset switch
    {
        PaperDataset.Cub => Cub,
        PaperDataset.Cars => Cars,
        PaperDataset.Sop => Sop,
        _ => throw new ArgumentOutOfRangeException(nameof(dataset), dataset, "Unknown dataset."),
    };
}
