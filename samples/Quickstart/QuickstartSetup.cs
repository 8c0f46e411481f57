using EmbeddingDistillation.Data;
using EmbeddingDistillation.Evaluation;
using EmbeddingDistillation.Losses;
using EmbeddingDistillation.Networks;
using EmbeddingDistillation.Training;
using Microsoft.Extensions.Logging;
using TorchSharp;

namespace EmbeddingDistillation.Samples.Quickstart;

/// <summary>
/// What every quickstart mode shares: the synthetic dataset of one seed split by the paper's protocol (validation
/// classes carved from the training half), the networks, the objectives and the training options. The default run,
/// the calibration and the multi-seed report all build their runs here, so they train exactly the same things.
/// </summary>
internal sealed class QuickstartSetup
{
    private QuickstartSetup(QuickstartOptions o, SyntheticFineGrainedDataset dataset, ClassSplit split, ClassIndexMap classMap,
        DatasetView train, DatasetView validation, DatasetView test, TrainingData data)
    {
        Options = o;
        Dataset = dataset;
        Split = split;
        ClassMap = classMap;
        Train = train;
        Validation = validation;
        Test = test;
        Data = data;
    }

    public QuickstartOptions Options { get; }
    public SyntheticFineGrainedDataset Dataset { get; }
    public ClassSplit Split { get; }
    public ClassIndexMap ClassMap { get; }
    public DatasetView Train { get; }
    public DatasetView Validation { get; }

    /// <summary>The test classes: only the default run's evaluation reads them, never the calibration.</summary>
    public DatasetView Test { get; }

    /// <summary>Training batches (P x K over the training classes) and the validator on the validation classes.</summary>
    public TrainingData Data { get; }

    /// <summary>Generates the dataset of <c>o.Seed</c> and splits it.</summary>
    public static QuickstartSetup Create(QuickstartOptions o)
    {
        var dataset = SyntheticFineGrainedDataset.Generate(new SyntheticDatasetOptions
        {
            ClassCount = o.Classes, ImagesPerClass = o.ImagesPerClass, ImageSize = o.ImageSize, Seed = o.Seed,
        });
        var split = ClassSplit.PaperProtocol(dataset.Labels, o.ValidationClasses);
        var classMap = ClassIndexMap.FromLabels(split.TrainIndices.Select(i => dataset.Labels[i]).ToArray());
        var train = new DatasetView(dataset, split.TrainIndices.ToArray(),
            classMap.Reindex(split.TrainIndices.Select(i => dataset.Labels[i]).ToArray()), "train");
        var validation = dataset.Subset(split.ValidationIndices, "validation");
        var test = dataset.Subset(split.TestIndices, "test");
        var data = new TrainingData
        {
            Train = train,
            Sampler = new ClassBalancedSampler(train.Labels, new ClassBalancedSamplerOptions
            {
                ClassesPerBatch = o.ClassesPerBatch, ImagesPerClass = o.ImagesPerClassInBatch, Seed = o.Seed,
            }),
            Validator = new RetrievalValidator(validation),
        };
        return new QuickstartSetup(o, dataset, split, classMap, train, validation, test, data);
    }

    /// <summary>The same dataset and batches with other training choices (the calibration's configurations).</summary>
    public QuickstartSetup WithOptions(QuickstartOptions options)
    {
        if (options.Seed != Options.Seed || options.ClassesPerBatch != Options.ClassesPerBatch || options.ImagesPerClassInBatch != Options.ImagesPerClassInBatch)
            throw new ArgumentException("Only the training choices may differ from the dataset's options.", nameof(options));
        return new QuickstartSetup(options, Dataset, Split, ClassMap, Train, Validation, Test, Data);
    }

    /// <summary>
    /// The teacher: a network built from scratch, or with <c>--teacher imagenet-resnet18</c> the ImageNet ResNet-18
    /// (ML.NET's weights) that sees every image at <c>--teacher-image-size</c>, resized inside it
    /// (<see cref="ResizedInputNetwork"/>), with an input adapter that turns the dataset's normalised RGB back into
    /// what the CNTK network was trained on (BGR, 0-255, minus its mean). Frozen (<c>--freeze-teacher</c>), its
    /// embedding is the L2-normalised pooled 512-d ImageNet feature (identity head); otherwise a new
    /// <c>--embedding-dim</c> head (kaiming normal; the identity when that is 512) to fine-tune.
    /// </summary>
    public IEmbeddingNetwork CreateTeacher()
    {
        torch.manual_seed(Options.Seed);
        if (Options.ImageNetTeacher)
        {
            var network = ImageNetResNet18.Load(Options.FreezeTeacher ? ImageNetTeacherOption.FeatureDimension : Options.EmbeddingDim,
                new ImageNetResNet18Options { ModelPath = Options.ImageNetModel, SourceMean = Dataset.Mean, SourceStd = Dataset.Std });
            return new ResizedInputNetwork(network, Options.TeacherImageSize, Options.TeacherImageSize);
        }
        return EmbeddingNetworks.Create(Options.Teacher, Options.EmbeddingDim, new EmbeddingNetworkOptions
        {
            SmallInputStem = Options.TeacherSmallStem, BaseWidth = Options.TeacherBaseWidth,
        });
    }

    /// <summary>Every student (baseline and distilled) starts from the same weights: same seed, same architecture.</summary>
    public IEmbeddingNetwork CreateStudent()
    {
        torch.manual_seed(Options.Seed + 1);
        return EmbeddingNetworks.Create(Options.Student, Options.EmbeddingDim, new EmbeddingNetworkOptions { SmallInputStem = Options.StudentSmallStem });
    }

    /// <summary>A metric loss by name, through the library's catalogue: triplet with margin 0.1 (a margin-0 triplet collapses from scratch), contrastive with margins 0 and 0.5.</summary>
    public IMetricLoss MetricLoss(string name) => LossCatalog.CreateMetricLoss(name,
        new LossContext { ClassCount = ClassMap.ClassCount, EmbeddingDimension = Options.EmbeddingDim },
        name switch
        {
            "triplet" => new TripletLossOptions { Margin = 0.1 },
            "contrastive" => new ContrastiveLossOptions { NegativeMargin = 0.5 },
            _ => null,
        });

    public TrainingObjective TeacherObjective() => TrainingObjective.MetricOnly(MetricLoss(Options.TeacherLoss));

    /// <summary>
    /// A student's objective: <c>baseline</c> (the metric loss alone) or a method of '+'-joined terms (<c>absolute</c>,
    /// <c>relative</c>, <c>rkd</c>) weighted by the lambdas, with the metric loss weighted by
    /// <see cref="QuickstartOptions.MetricWeightOf"/>.
    /// </summary>
    public TrainingObjective StudentObjective(string method, IEmbeddingNetwork? teacher)
    {
        var metric = MetricLoss(Options.StudentLoss);
        if (method == "baseline") return TrainingObjective.MetricOnly(metric);
        var terms = new List<WeightedDistillationTerm>();
        foreach (var term in method.Split('+'))
        {
            switch (term)
            {
                case "absolute":
                    terms.Add(new WeightedDistillationTerm(new AbsoluteTeacherLoss(), Options.LambdaAbsolute));
                    break;
                case "relative":
                    // The paper's loss per pair (|| D_S - D_T ||_F / N): one lambda whatever the batch size; a combination
                    // has its own, calibrated with it.
                    terms.Add(new WeightedDistillationTerm(new RelativeTeacherLoss(new RelativeTeacherLossOptions { Reduction = RelativeReduction.RootMeanSquare }),
                        Options.RelativeLambdaOf(method)));
                    break;
                case "rkd":
                    terms.Add(new WeightedDistillationTerm(new RkdDistanceLoss(), Options.LambdaRkdDistance));
                    terms.Add(new WeightedDistillationTerm(new RkdAngleLoss(), Options.LambdaRkdAngle));
                    break;
                default:
                    throw new ArgumentException($"Unknown distillation term '{term}' in '{method}'.", nameof(method));
            }
        }
        ArgumentNullException.ThrowIfNull(teacher);
        return TrainingObjective.Distillation(metric, teacher, terms.ToArray()).WithMetricWeight(Options.MetricWeightOf(method));
    }

    /// <summary>
    /// The options of every quickstart run: AdamW (weight decay 1e-4), cosine schedule after one epoch of warm-up
    /// (students: <see cref="StudentTrainingOptions"/>),
    /// the losses' parameters (proxies) at 100x the rate, the teacher on the clean view (so its outputs are cached),
    /// best epoch by validation Recall@1.
    /// </summary>
    public TrainingOptions TrainingOptions(int epochs, double learningRate, string? folder, ILoggerFactory? loggers) => new()
    {
        Epochs = epochs, Optimizer = OptimizerKind.AdamW, LearningRate = learningRate, WeightDecay = 1e-4,
        Schedule = LearningRateSchedule.Cosine, WarmupSteps = Data.Sampler.BatchesPerEpoch, Seed = Options.Seed,
        LossParameterLearningRateMultiplier = 100, TeacherView = TeacherView.Clean, CacheTeacherOutputs = Options.TeacherCache,
        CheckpointDirectory = folder, Resume = true, LoggerFactory = loggers,
    };

    /// <summary>
    /// A student's options: those of every run, with <see cref="QuickstartOptions.StudentWarmupEpochs"/> of warm-up and
    /// the weight averaging of <see cref="QuickstartOptions.StudentWeightAverage"/>.
    /// </summary>
    public TrainingOptions StudentTrainingOptions(int epochs, double learningRate, string? folder, ILoggerFactory? loggers) =>
        TrainingOptions(epochs, learningRate, folder, loggers) with
        {
            WarmupSteps = Options.StudentWarmupEpochs * Data.Sampler.BatchesPerEpoch,
            WeightAverageDecay = Options.StudentWeightAverage > 0 ? Options.StudentWeightAverage : null,
        };

    /// <summary>
    /// The teacher's options: those of every run, except that a pretrained ImageNet backbone learns at
    /// <see cref="QuickstartOptions.PretrainedBackboneRateFactor"/> x <paramref name="learningRate"/> while its new head
    /// and the proxies keep the rates they have in every run (the rate, and 100x the rate).
    /// </summary>
    public TrainingOptions TeacherTrainingOptions(int epochs, double learningRate, string? folder, ILoggerFactory? loggers)
    {
        var options = TrainingOptions(epochs, learningRate, folder, loggers);
        if (!Options.ImageNetTeacher) return options;
        const double f = QuickstartOptions.PretrainedBackboneRateFactor;
        return options with
        {
            LearningRate = learningRate * f, HeadLearningRateMultiplier = 1 / f,
            HeadParameterPrefix = ResizedInputNetwork.InnerModuleName + ".head.", LossParameterLearningRateMultiplier = options.LossParameterLearningRateMultiplier / f,
        };
    }
}
