using System.Globalization;

namespace EmbeddingDistillation.Samples.Quickstart;

/// <summary>The quickstart's options: defaults are the calibrated full run; <c>--fast</c> is the CI-sized run.</summary>
internal sealed record QuickstartOptions
{
    public bool Fast { get; init; }
    public string Report { get; init; } = "quickstart-report";
    public int Seed { get; init; } = 7;
    public string Device { get; init; } = "auto";
    public int Threads { get; init; } = Environment.ProcessorCount;

    // Data: the embedded synthetic fine-grained dataset, split by the paper's protocol.
    public int Classes { get; init; } = 100;
    public int ImagesPerClass { get; init; } = 50;
    public int ImageSize { get; init; } = 32;
    public int ValidationClasses { get; init; } = 10;

    // Networks.
    public string Teacher { get; init; } = "resnet18";
    public string? TeacherWeights { get; init; }
    public int TeacherBaseWidth { get; init; } = 64;
    public bool TeacherSmallStem { get; init; }
    public string Student { get; init; } = "mobilenetv1-0.25";
    public bool StudentSmallStem { get; init; } = true;
    public int EmbeddingDim { get; init; } = 128;

    // Objectives.
    public string TeacherLoss { get; init; } = "proxy-anchor";
    public string StudentLoss { get; init; } = "multi-similarity";
    public double LambdaAbsolute { get; init; } = 5.0;
    public double LambdaRelative { get; init; } = 10.0;
    public double LambdaRkdDistance { get; init; } = 1.0;
    public double LambdaRkdAngle { get; init; } = 2.0;
    public string[] Distill { get; init; } = ["absolute", "relative", "rkd"];
    public bool Baseline { get; init; } = true;

    // Schedules.
    public int TeacherEpochs { get; init; } = 20;
    public int StudentEpochs { get; init; } = 30;
    public double TeacherLearningRate { get; init; } = 1e-3;
    public double StudentLearningRate { get; init; } = 1e-2;
    public int ClassesPerBatch { get; init; } = 8;
    public int ImagesPerClassInBatch { get; init; } = 8;

    public static QuickstartOptions Parse(string[] args)
    {
        var o = new QuickstartOptions();
        if (args.Contains("--fast"))
            o = o with
            {
                Fast = true, Classes = 60, ImagesPerClass = 30, TeacherEpochs = 4, StudentEpochs = 4, TeacherBaseWidth = 32,
                ValidationClasses = 6,
            };
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"Option {a} needs a value.");
            int Int() => int.TryParse(Next(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : throw new ArgumentException($"Option {a} needs an integer.");
            double Dbl() => double.TryParse(Next(), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : throw new ArgumentException($"Option {a} needs a number.");
            o = a switch
            {
                "--fast" => o,
                "--report" => o with { Report = Next() },
                "--seed" => o with { Seed = Int() },
                "--device" => o with { Device = Next() },
                "--threads" => o with { Threads = Int() },
                "--classes" => o with { Classes = Int() },
                "--images-per-class" => o with { ImagesPerClass = Int() },
                "--image-size" => o with { ImageSize = Int() },
                "--validation-classes" => o with { ValidationClasses = Int() },
                "--teacher" => o with { Teacher = Next() },
                "--teacher-weights" => o with { TeacherWeights = Next() },
                "--teacher-base-width" => o with { TeacherBaseWidth = Int() },
                "--teacher-small-stem" => o with { TeacherSmallStem = true },
                "--student" => o with { Student = Next() },
                "--student-standard-stem" => o with { StudentSmallStem = false },
                "--embedding-dim" => o with { EmbeddingDim = Int() },
                "--teacher-loss" => o with { TeacherLoss = Next() },
                "--student-loss" => o with { StudentLoss = Next() },
                "--lambda-absolute" => o with { LambdaAbsolute = Dbl() },
                "--lambda-relative" => o with { LambdaRelative = Dbl() },
                "--lambda-rkd-distance" => o with { LambdaRkdDistance = Dbl() },
                "--lambda-rkd-angle" => o with { LambdaRkdAngle = Dbl() },
                "--distill" => o with { Distill = Next().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) },
                "--no-baseline" => o with { Baseline = false },
                "--teacher-epochs" => o with { TeacherEpochs = Int() },
                "--student-epochs" => o with { StudentEpochs = Int() },
                "--teacher-lr" => o with { TeacherLearningRate = Dbl() },
                "--student-lr" => o with { StudentLearningRate = Dbl() },
                "--batch-classes" => o with { ClassesPerBatch = Int() },
                "--batch-images-per-class" => o with { ImagesPerClassInBatch = Int() },
                "--help" or "-h" => throw new HelpRequested(),
                _ => throw new ArgumentException($"Unknown option '{a}'. Run with --help for the list."),
            };
        }
        if (o.Distill is ["none"]) o = o with { Distill = [] };
        foreach (var d in o.Distill)
            if (d is not ("absolute" or "relative" or "rkd"))
                throw new ArgumentException($"--distill: unknown term '{d}' (use absolute, relative, rkd).");
        return o;
    }

    public const string Usage = """
        Quickstart: teacher -> baseline student -> distilled students on the embedded synthetic dataset.
          --fast                      CI-sized run (under 2 minutes)
          --report DIR                report folder (default quickstart-report)
          --seed N                    seed of data, initialisation and batches (default 7)
          --device auto|cpu|cuda      device (default auto: cuda when available)
          --threads N                 CPU threads (default: all cores)
          --classes N --images-per-class N --image-size PX --validation-classes N
          --teacher NAME --teacher-base-width N --teacher-small-stem
          --teacher-weights FILE      reuse a trained teacher (e.g. REPORT/checkpoints/teacher/best.weights)
          --student NAME --student-standard-stem --embedding-dim D
          --teacher-loss proxy-anchor|multi-similarity|triplet|contrastive
          --student-loss multi-similarity|proxy-anchor|triplet|contrastive
          --distill absolute,relative,rkd|none   the distilled students to train
          --no-baseline               skip the baseline student (e.g. when comparing lambdas)
          --lambda-absolute X --lambda-relative X --lambda-rkd-distance X --lambda-rkd-angle X
          --teacher-epochs N --student-epochs N --teacher-lr X --student-lr X
          --batch-classes P --batch-images-per-class K
        """;
}

internal sealed class HelpRequested : Exception;
