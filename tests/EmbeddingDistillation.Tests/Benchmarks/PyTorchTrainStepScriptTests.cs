using System.Diagnostics;
using System.Text.Json;
using EmbeddingDistillation.Networks;

namespace EmbeddingDistillation.Tests.Benchmarks;

/// <summary>Finds a Python with torch and torchvision for the PyTorch side of the step benchmark.</summary>
internal static class PyTorchPython
{
    /// <summary>Interpreter: <c>ED_PYTHON</c>, else Debian's <c>/usr/bin/python3</c> (python3-torch).</summary>
    public static string Interpreter => Environment.GetEnvironmentVariable("ED_PYTHON") is { Length: > 0 } p ? p : "/usr/bin/python3";

    private static readonly Lazy<string?> Problem = new(() =>
    {
        if (!File.Exists(Interpreter)) return $"{Interpreter} does not exist (set ED_PYTHON to a Python with torch and torchvision)";
        var (code, _, error) = Run(Interpreter, ["-c", "import torch, torchvision"], null, TimeSpan.FromSeconds(60));
        return code == 0 ? null : $"{Interpreter} cannot import torch and torchvision ({error.Trim().Split('\n').LastOrDefault()}); set ED_PYTHON to one that can";
    });

    /// <summary>Why the PyTorch tests cannot run here, or null.</summary>
    public static string? Unavailable => Problem.Value;

    /// <summary>benchmarks/pytorch/train_step.py, found above the test's output folder.</summary>
    public static string Script()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var path = Path.Combine(dir.FullName, "benchmarks", "pytorch", "train_step.py");
            if (File.Exists(path)) return path;
        }
        throw new FileNotFoundException("benchmarks/pytorch/train_step.py not found above " + AppContext.BaseDirectory);
    }

    public static (int Code, string Output, string Error) Run(string file, IEnumerable<string> args, string? input, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (input is not null) process.StandardInput.Write(input);
        process.StandardInput.Close();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', info.ArgumentList)} did not finish in {timeout.TotalSeconds} s");
        }
        return (process.ExitCode, output.Result, error.Result);
    }
}

/// <summary>Runs only where <see cref="PyTorchPython"/> finds torch and torchvision; skipped with the reason elsewhere.</summary>
public sealed class PyTorchFactAttribute : FactAttribute
{
    public PyTorchFactAttribute()
    {
        if (PyTorchPython.Unavailable is { } why) Skip = "The PyTorch side of the training-step benchmark needs PyTorch: " + why + ".";
    }
}

/// <summary>
/// Smoke test of <c>benchmarks/pytorch/train_step.py</c>, the PyTorch side of docs/benchmarks.md "Training step vs
/// PyTorch": one tiny step of each kind at 32 px, in the standalone mode and in the worker mode the C# tool drives.
/// </summary>
public class PyTorchTrainStepScriptTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    [PyTorchFact]
    public void StandaloneStepPrintsOneJsonCaseWithTheLibrarysParameterCount()
    {
        var (code, output, error) = PyTorchPython.Run(PyTorchPython.Interpreter,
            [PyTorchPython.Script(), "--threads", "1", "--nets", "mobilenetv1-0.25", "--sizes", "32", "--batch", "8", "--steps", "1"], null, Timeout);
        Assert.True(code == 0, error);
        using var json = JsonDocument.Parse(Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
        var r = json.RootElement;
        Assert.Equal(("pytorch", "step", 32, 8), (r.GetProperty("side").GetString(), r.GetProperty("kind").GetString(), r.GetProperty("size").GetInt32(), r.GetProperty("batch").GetInt32()));
        Assert.True(r.GetProperty("min_ms").GetDouble() > 0);
        // The script's MobileNetV1-0.25 is the library's architecture: same parameter count, 512-d head included.
        using var ours = EmbeddingNetworks.Create("mobilenetv1-0.25", 512);
        Assert.Equal(ours.parameters().Sum(p => p.numel()), r.GetProperty("params").GetInt64());
    }

    [PyTorchFact]
    public void WorkerAnswersStepTeacherAndDistillationRequests()
    {
        string Request(string kind) => JsonSerializer.Serialize(new { net = "mobilenetv1-0.25", size = 32, batch = 16, kind, steps = 1, teacher = "resnet18" });
        var (code, output, error) = PyTorchPython.Run(PyTorchPython.Interpreter, [PyTorchPython.Script(), "--serve", "--threads", "1"],
            string.Join('\n', Request("teacher"), Request("step"), Request("distill")) + "\n", Timeout);
        Assert.True(code == 0, error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length);
        using (var ready = JsonDocument.Parse(lines[0])) Assert.True(ready.RootElement.GetProperty("ready").GetBoolean());
        var kinds = lines[1..].Select(l =>
        {
            using var d = JsonDocument.Parse(l);
            Assert.Single(d.RootElement.GetProperty("ms").EnumerateArray());
            return d.RootElement.GetProperty("kind").GetString();
        });
        Assert.Equal(new[] { "teacher", "step", "distill" }, kinds);
    }
}
