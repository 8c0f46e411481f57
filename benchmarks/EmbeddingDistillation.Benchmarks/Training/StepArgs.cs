using System.Globalization;

namespace EmbeddingDistillation.Benchmarks.Training;

/// <summary>Command-line options of the in-process timing tools (<c>step</c>, <c>layers</c>, <c>speedup</c>).</summary>
internal sealed class StepArgs
{
    public string[] Nets { get; private set; } = { "resnet18", "mobilenetv2", "mobilenetv1-0.25" };
    public int[] Sizes { get; private set; } = { 64, 224 };
    public int Batch { get; private set; } = 32;
    public int[] Batches { get; private set; } = { 1, 32 };
    public int Threads { get; private set; } = 1;
    public int Rounds { get; private set; } = 3;
    public int Steps { get; private set; } = 2;
    public string? Python { get; private set; }
    public string? Output { get; private set; }
    public bool Distill { get; private set; }
    public bool DefaultMalloc { get; private set; }
    public bool OwnThread { get; private set; }
    /// <summary>
    /// <c>--torchvision-teacher</c>: also time the teacher's forward pass as TorchVision's own model in TorchSharp (same
    /// libtorch, torchvision's module code), which separates the library's network code from libtorch's kernels.
    /// </summary>
    public bool TorchVisionTeacher { get; private set; }
    public string Teacher { get; private set; } = "resnet101";
    public string Student { get; private set; } = "mobilenetv1-0.25";

    public static StepArgs Parse(IReadOnlyList<string> args)
    {
        var a = new StepArgs();
        for (int i = 0; i < args.Count; i++)
        {
            string Next() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"option {args[i]} needs a value");
            int[] Ints(string s) => s.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(v => int.Parse(v, CultureInfo.InvariantCulture)).ToArray();
            switch (args[i])
            {
                case "--nets": a.Nets = Next().Split(',', StringSplitOptions.RemoveEmptyEntries); break;
                case "--sizes": a.Sizes = Ints(Next()); break;
                case "--batches": a.Batches = Ints(Next()); break;
                case "--batch": a.Batch = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--threads": a.Threads = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--rounds": a.Rounds = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--steps": a.Steps = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--python": a.Python = Next(); break;
                case "--out": a.Output = Next(); break;
                case "--distill": a.Distill = true; break;
                case "--default-malloc": a.DefaultMalloc = true; break;
                case "--own-thread": a.OwnThread = true; break;
                case "--torchvision-teacher": a.TorchVisionTeacher = true; break;
                case "--teacher": a.Teacher = Next(); break;
                case "--student": a.Student = Next(); break;
                default: throw new ArgumentException($"unknown option {args[i]}");
            }
        }
        if (a.TorchVisionTeacher && !a.Distill) throw new ArgumentException("--torchvision-teacher needs --distill (it adds a teacher case)");
        if (a.Threads < 1 || a.Batch < 2 || a.Rounds < 1 || a.Steps < 1) throw new ArgumentException("threads, rounds and steps must be >= 1, batch >= 2");
        return a;
    }
}
