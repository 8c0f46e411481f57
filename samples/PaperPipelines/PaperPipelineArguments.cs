using EmbeddingDistillation.Vision;
using System.Globalization;

namespace EmbeddingDistillation.Samples.PaperPipelines;

/// <summary>A command-line error of the paper pipelines; the message names the option at fault.</summary>
public sealed class PaperArgumentException : ArgumentException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong and how to fix it.</param>
    public PaperArgumentException(string message) : base(message) { }
}

/// <summary>
/// Parses the paper pipelines' command line (<c>--option value</c> or <c>--option=value</c>) into
/// <see cref="PaperPipelineOptions"/>. Every error is a <see cref="PaperArgumentException"/> naming the option.
/// </summary>
public static class PaperPipelineArguments
{
    /// <summary>The usage text.</summary>
    public const string Usage = """
        Usage: PaperPipelines --dataset cub|cars|sop --root PATH [options]

        Data
          --dataset cub|cars|sop       benchmark (required)
          --root PATH                  dataset root: CUB_200_2011/, the Cars-196 folder, Stanford_Online_Products/ (required)
          --max-classes N              keep at most N classes per split part (smoke runs)
          --max-images-per-class N     keep at most N images per class (smoke runs)
          --validation-fraction F      training classes held out for best-epoch selection (default 0, as the paper)
          --image-size S               crop size (default 224; resize = round(S*256/224))
        Networks
          --teacher NAME               default resnet101 (resnet18/34/50/101, mobilenetv1-W, mobilenetv2-W)
          --student NAME[,NAME]        default mobilenetv1-0.25,resnet18
          --embedding-dim D            default 512
          --teacher-weights FILE       ImageNet backbone weights (.pth/.safetensors), e.g. resnet101-63fe2227.pth
          --student-weights FILE[,FILE] ImageNet weights per student, same order as --student
          --teacher-checkpoint FILE    load a trained teacher from FILE if it exists (skip teacher training), else save it there
          --base-width N               ResNet base width (default 64; tiny networks for smoke runs)
          --small-stem on|off|auto     stride-1 stem for small crops (default auto: on for crops <= 64 px)
        Training
          --epochs N                   student epochs (default: CUB 2000, Cars 3000, SOP 50, as the original script)
          --teacher-epochs N           teacher epochs (default: --epochs)
          --batches-per-epoch N        default: training classes / 4
          --max-steps N                cap on steps per run (throughput measurements)
          --lr X                       Adam learning rate (default: 1e-5 CUB/Cars, 1e-6 SOP)
          --methods LIST               comma list (default baseline,absolute,relative); a method is '+'-joined terms:
                                       absolute, relative, rkd, hint, attention (e.g. relative+attention)
          --lambda-absolute X          default: CUB 1.0, Cars 1.5, SOP 2.0
          --lambda-relative X          default: CUB 0.3, Cars 0.1, SOP 1.0
          --hint-weight X              default 1
          --attention-weight X         default 1000
          --feature-taps T:S           teacher:student taps of hint/attention (default: same stride, e.g. layer3:stage4)
          --unlabelled DIR             semi-supervised: images below DIR carry only the distillation terms
          --unlabelled-ratio R         unlabelled batches per labelled batch (default 1)
          --cross-quality              students see degraded images (train and test), the teacher the clean ones
          --lq-downscale F             degradation: downscale factor (default 4)
          --lq-jpeg Q                  degradation: JPEG quality 1-100, or 'none' (default 20)
          --checkpoints                save resumable checkpoints every epoch under REPORT/checkpoints (re-run resumes)
          --seed N                     default 0
          --device auto|cpu|cuda|cuda:N  default auto
        Evaluation and report
          --sop-queries N              SOP: N random queries against the full test gallery (the original code used 10000)
          --eval-batch N               default 64
          --latency-iterations N       default 10
          --report DIR                 report folder (default paper-report)
          --help                       this text
        """;

    /// <summary>True when the arguments ask for help (<c>--help</c>, <c>-h</c>).</summary>
    /// <param name="args">The command line.</param>
    public static bool WantsHelp(IReadOnlyList<string> args) => args.Any(a => a is "--help" or "-h" or "-?");

    /// <summary>Parses <paramref name="args"/>.</summary>
    /// <param name="args">The command line (without the program name).</param>
    /// <exception cref="PaperArgumentException">An unknown option, a missing or malformed value, or a missing required option.</exception>
    public static PaperPipelineOptions Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < args.Count; i++)
        {
            string a = args[i];
            if (!a.StartsWith("--", StringComparison.Ordinal))
                throw new PaperArgumentException($"Unexpected argument '{a}': options start with '--' (see --help).");
            string name = a, value;
            int eq = a.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0) { name = a[..eq]; value = a[(eq + 1)..]; }
            else if (Flags.Contains(name)) value = "true";
            else
            {
                if (!Known.Contains(name)) throw Unknown(name);
                if (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                    throw new PaperArgumentException($"Option {name} needs a value (see --help).");
                value = args[++i];
            }
            if (!Known.Contains(name) && !Flags.Contains(name)) throw Unknown(name);
            if (!values.TryAdd(name, value)) throw new PaperArgumentException($"Option {name} is given twice.");
        }

        if (!values.TryGetValue("--dataset", out var ds)) throw new PaperArgumentException("Missing --dataset cub|cars|sop.");
        var dataset = ds.ToLowerInvariant() switch
        {
            "cub" or "cub200" or "cub-200-2011" => PaperDataset.Cub,
            "cars" or "cars196" or "car" => PaperDataset.Cars,
            "sop" or "products" or "stanford-online-products" => PaperDataset.Sop,
            _ => throw new PaperArgumentException($"Unknown --dataset '{ds}': use cub, cars or sop."),
        };
        if (!values.TryGetValue("--root", out var root) || string.IsNullOrWhiteSpace(root))
            throw new PaperArgumentException("Missing --root PATH (the extracted dataset folder).");

        var o = new PaperPipelineOptions { Dataset = dataset, Root = root };
        string? S(string key) => values.TryGetValue(key, out var v) ? v : null;
        int? I(string key, int min) => S(key) is { } v ? Int(key, v, min) : null;
        double? D(string key, double min) => S(key) is { } v ? Real(key, v, min) : null;

        o = o with
        {
            Report = S("--report") ?? o.Report,
            Device = S("--device") ?? o.Device,
            Seed = S("--seed") is { } seed ? Int("--seed", seed, int.MinValue) : 0,
            ImageSize = I("--image-size", 8),
            Epochs = I("--epochs", 1),
            TeacherEpochs = I("--teacher-epochs", 1),
            MaxSteps = I("--max-steps", 1),
            BatchesPerEpoch = I("--batches-per-epoch", 1),
            Teacher = S("--teacher"),
            Students = S("--student") is { } st ? List("--student", st) : null,
            EmbeddingDimension = I("--embedding-dim", 1),
            BaseWidth = I("--base-width", 1) ?? o.BaseWidth,
            SmallStem = S("--small-stem") is { } ss ? OnOffAuto("--small-stem", ss) : null,
            TeacherWeights = S("--teacher-weights"),
            StudentWeights = S("--student-weights") is { } sw ? List("--student-weights", sw) : null,
            TeacherCheckpoint = S("--teacher-checkpoint"),
            Methods = S("--methods") is { } m ? Methods(m) : o.Methods,
            LearningRate = D("--lr", double.Epsilon),
            AbsoluteWeight = D("--lambda-absolute", 0),
            RelativeWeight = D("--lambda-relative", 0),
            HintWeight = D("--hint-weight", 0) ?? o.HintWeight,
            AttentionWeight = D("--attention-weight", 0) ?? o.AttentionWeight,
            FeatureTaps = S("--feature-taps") is { } ft ? Taps(ft) : null,
            Unlabelled = S("--unlabelled"),
            UnlabelledRatio = D("--unlabelled-ratio", double.Epsilon) ?? o.UnlabelledRatio,
            CrossQuality = S("--cross-quality") is { } cq && Bool("--cross-quality", cq),
            Checkpoints = S("--checkpoints") is { } ck && Bool("--checkpoints", ck),
            LowQuality = new LowQualityOptions
            {
                DownscaleFactor = D("--lq-downscale", 1) ?? 4,
                JpegQuality = S("--lq-jpeg") is { } q ? (q == "none" ? null : Int("--lq-jpeg", q, 1, 100)) : 20,
            },
            SopQueries = I("--sop-queries", 1),
            MaxClasses = I("--max-classes", 2),
            MaxImagesPerClass = I("--max-images-per-class", 2),
            ValidationFraction = D("--validation-fraction", 0) ?? 0,
            EvaluationBatchSize = I("--eval-batch", 1) ?? o.EvaluationBatchSize,
            LatencyIterations = I("--latency-iterations", 1) ?? o.LatencyIterations,
        };
        if (o.ValidationFraction >= 1)
            throw new PaperArgumentException($"--validation-fraction must be in [0, 1), got {o.ValidationFraction.ToString(CultureInfo.InvariantCulture)}.");
        if (o.SopQueries is not null && dataset != PaperDataset.Sop)
            throw new PaperArgumentException("--sop-queries applies to --dataset sop only.");
        if (o.Unlabelled is not null && o.Methods.All(x => x == "baseline"))
            throw new PaperArgumentException("--unlabelled needs a distillation method in --methods (unlabelled batches carry only the distillation terms).");
        return o;
    }

    private static readonly HashSet<string> Flags = ["--cross-quality", "--checkpoints"];

    private static readonly HashSet<string> Known =
    [
        "--dataset", "--root", "--report", "--device", "--seed", "--image-size", "--epochs", "--teacher-epochs", "--max-steps",
        "--batches-per-epoch", "--teacher", "--student", "--embedding-dim", "--base-width", "--small-stem", "--teacher-weights",
        "--student-weights", "--teacher-checkpoint", "--methods", "--lr", "--lambda-absolute", "--lambda-relative", "--hint-weight",
        "--attention-weight", "--feature-taps", "--unlabelled", "--unlabelled-ratio", "--lq-downscale", "--lq-jpeg", "--sop-queries",
        "--max-classes", "--max-images-per-class", "--validation-fraction", "--eval-batch", "--latency-iterations",
    ];

    /// <summary>The terms a method may combine.</summary>
    public static readonly IReadOnlyList<string> Terms = ["absolute", "relative", "rkd", "hint", "attention"];

    private static PaperArgumentException Unknown(string name) =>
        new($"Unknown option '{name}'. Known options: {string.Join(", ", Known.Concat(Flags).Order(StringComparer.Ordinal))} (see --help).");

    private static int Int(string key, string v, int min, int max = int.MaxValue)
    {
        if (!int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var x))
            throw new PaperArgumentException($"Option {key} needs an integer, got '{v}'.");
        if (x < min || x > max)
            throw new PaperArgumentException(max == int.MaxValue ? $"Option {key} must be >= {min}, got {x}." : $"Option {key} must be in [{min}, {max}], got {x}.");
        return x;
    }

    private static double Real(string key, string v, double min)
    {
        if (!double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) || !double.IsFinite(x))
            throw new PaperArgumentException($"Option {key} needs a number, got '{v}'.");
        if (x < min)
            throw new PaperArgumentException($"Option {key} must be {(min == 0 ? ">= 0" : "> 0")}, got {v}.");
        return x;
    }

    private static bool Bool(string key, string v) => v.ToLowerInvariant() switch
    {
        "true" or "on" or "yes" or "1" => true,
        "false" or "off" or "no" or "0" => false,
        _ => throw new PaperArgumentException($"Option {key} takes no value or true/false, got '{v}'."),
    };

    private static bool? OnOffAuto(string key, string v) => v.ToLowerInvariant() switch
    {
        "auto" => null,
        _ => Bool(key, v),
    };

    private static string[] List(string key, string v)
    {
        var items = v.Split(',', StringSplitOptions.TrimEntries);
        if (items.Any(string.IsNullOrEmpty)) throw new PaperArgumentException($"Option {key} has an empty item in '{v}'.");
        return items;
    }

    private static string[] Methods(string v)
    {
        var methods = List("--methods", v).Select(m => m.ToLowerInvariant()).ToArray();
        foreach (var m in methods)
        {
            if (m == "baseline") continue;
            foreach (var term in m.Split('+'))
                if (!Terms.Contains(term))
                    throw new PaperArgumentException($"Unknown term '{term}' in --methods '{m}': use baseline, or '+'-joined terms of {string.Join(", ", Terms)}.");
        }
        if (methods.Distinct().Count() != methods.Length) throw new PaperArgumentException($"--methods lists a method twice: '{v}'.");
        return methods;
    }

    private static string Taps(string v)
    {
        var parts = v.Split(':');
        if (parts.Length != 2 || parts.Any(string.IsNullOrWhiteSpace))
            throw new PaperArgumentException($"--feature-taps needs teacherTap:studentTap (e.g. layer3:stage4), got '{v}'.");
        return v;
    }
}
