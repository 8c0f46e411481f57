using System.Diagnostics;
using EmbeddingDistillation.Evaluation;
using EmbeddingDistillation.Samples;
using EmbeddingDistillation.Samples.CommandLine;
using EmbeddingDistillation.Vision;
using EmbeddingDistillation.Samples.PaperPipelines;
using Xunit.Abstractions;

namespace EmbeddingDistillation.Tests.Pipelines;

/// <summary>
/// The paper pipeline end to end on a generated CUB-layout fixture with tiny networks at 32 px. Without weight files
/// <c>--recipe auto</c> picks the scratch recipe, so most tests here run it; the first one runs the paper's recipe.
/// </summary>
public class PaperPipelineTests(ITestOutputHelper output)
{
    internal static string[] TinyArgs(PaperFixture f, string report, params string[] extra) =>
    [
        "--dataset", "cub", "--root", f.Cub, "--report", report, "--image-size", "32", "--teacher", "resnet18",
        "--student", "mobilenetv1-0.25", "--base-width", "4", "--embedding-dim", "16", "--epochs", "2",
        "--batches-per-epoch", "2", "--device", "cpu", "--latency-iterations", "2", "--eval-batch", "32", .. extra,
    ];

    [Fact]
    public void FullPipelineTrainsTeacherDistilsStudentsAndWritesResults()
    {
        var clock = Stopwatch.StartNew();
        using var f = new PaperFixture();
        var options = PaperArgumentsTests.Parse(TinyArgs(f, f.Report, "--methods", "baseline,absolute,relative,rkd,hint,attention", "--recipe", "paper"));
        var log = new StringWriter();
        var result = new PaperPipeline(options, log).Run();
        clock.Stop();
        output.WriteLine(log.ToString());
        output.WriteLine($"pipeline wall time {clock.Elapsed.TotalSeconds:F1} s");

        string text = log.ToString();
        Assert.Contains("CUB-200-2011", text);
        Assert.Contains("5,864", text);   // the paper's counts are printed beside the fixture's
        Assert.Contains("5,924", text);
        Assert.Contains("recipe paper (--recipe paper)", text);
        Assert.Single(text.Split('\n'), l => l.Contains("WARNING: no ImageNet weights", StringComparison.Ordinal) && l.Contains("--recipe scratch", StringComparison.Ordinal));
        // Two epochs of two batches learn next to nothing: the collapse check says so, naming each run.
        Assert.Contains(text.Split('\n'), l => l.Contains("WARNING: run 'mobilenetv1-0.25-16-baseline' learned nothing usable", StringComparison.Ordinal));
        Assert.Contains("learned nothing usable", File.ReadAllText(Path.Combine(f.Report, "results.md")));
        Assert.Contains("hint[layer3", text); // small stems: ResNet layer3 (stride 4) <- MobileNet stage3 (stride 4)
        Assert.Contains("stage3", text);

        var lines = File.ReadAllLines(Path.Combine(f.Report, "results.csv"));
        Assert.Equal(ResultsTable.CsvHeader, lines[0]);
        Assert.Equal(7, lines.Length - 1);
        Assert.StartsWith("teacher-resnet18-16,teacher,", lines[1]);
        Assert.StartsWith("mobilenetv1-0.25-16-baseline,baseline,", lines[2]);
        foreach (var m in new[] { "absolute", "relative", "rkd", "hint", "attention" })
            Assert.Contains(lines, l => l.StartsWith($"mobilenetv1-0.25-16-{m},distilled,", StringComparison.Ordinal));
        Assert.True(File.Exists(Path.Combine(f.Report, "teacher.weights")));
        Assert.Contains("R@16", File.ReadAllText(Path.Combine(f.Report, "results.md")));
        Assert.Contains("5,864", File.ReadAllText(Path.Combine(f.Report, "summary.txt")));

        Assert.Equal(7, result.Runs.Count);
        foreach (var run in result.Runs)
        {
            Assert.NotNull(run.Training);
            Assert.Equal(4, run.Training!.Steps);          // 2 epochs x 2 batches
            Assert.Equal(4, run.LabelledSteps);
            Assert.Equal(0, run.UnlabelledSteps);
            foreach (var k in new[] { 1, 2, 4, 8, 16 })
                Assert.InRange(run.Result.RecallAtK[k], 0.0, 1.0);
            Assert.True(run.Result.RecallAtK[16] >= run.Result.RecallAtK[1]);
            Assert.True(run.Result.Parameters > 0 && run.Result.Macs > 0 && run.Result.LatencyMs > 0);
            Assert.All(run.Training.History, h => Assert.True(double.IsFinite(h.Loss)));
        }
        // Every run minimised the triplet loss plus exactly its own distillation terms, each with a positive value.
        var expectedTerms = new Dictionary<string, string[]>
        {
            ["teacher-resnet18-16"] = [], ["mobilenetv1-0.25-16-baseline"] = [], ["mobilenetv1-0.25-16-absolute"] = ["absolute"],
            ["mobilenetv1-0.25-16-relative"] = ["relative"], ["mobilenetv1-0.25-16-rkd"] = ["rkd-distance", "rkd-angle"],
            ["mobilenetv1-0.25-16-hint"] = ["hint"], ["mobilenetv1-0.25-16-attention"] = ["attention"],
        };
        foreach (var run in result.Runs)
        {
            var terms = run.Training!.History[0].Terms;
            Assert.Equal(["triplet", .. expectedTerms[run.Name]], terms.Keys.ToArray());
            Assert.All(expectedTerms[run.Name], t => Assert.True(terms[t] > 0, $"{run.Name}: {t} = {terms[t]}"));
        }
        Assert.Equal(4 * 6, result.Split.Test.Records.Count);
        Assert.True(clock.Elapsed < TimeSpan.FromMinutes(2), $"the pipeline took {clock.Elapsed}");
    }

    [Fact]
    public void SemiSupervisedAndCrossQualityRunsReuseTheSavedTeacher()
    {
        using var f = new PaperFixture();
        string unlabelled = f.WriteUnlabelled(40);
        string teacherFile = Path.Combine(f.Root, "teacher.weights");

        // Semi-supervised: one unlabelled batch (distillation terms only) after each labelled batch.
        var semiLog = new StringWriter();
        var semi = new PaperPipeline(PaperArgumentsTests.Parse(TinyArgs(f, Path.Combine(f.Root, "semi"),
            "--methods", "relative", "--unlabelled", unlabelled, "--teacher-checkpoint", teacherFile)), semiLog).Run();
        output.WriteLine(semiLog.ToString());
        Assert.Contains("40 unlabelled images", semiLog.ToString());
        var student = semi.Runs[1];
        Assert.Equal(8, student.Training!.Steps);
        Assert.Equal(4, student.LabelledSteps);
        Assert.Equal(4, student.UnlabelledSteps);
        Assert.Equal(0, semi.Runs[0].UnlabelledSteps); // the teacher trains on labelled batches only
        Assert.True(File.Exists(teacherFile));

        // Cross-quality: the saved teacher is loaded, the student trains and is tested on degraded images.
        var cqLog = new StringWriter();
        var cq = new PaperPipeline(PaperArgumentsTests.Parse(TinyArgs(f, Path.Combine(f.Root, "cq"),
            "--methods", "absolute", "--cross-quality", "--lq-downscale", "4", "--lq-jpeg", "20", "--teacher-checkpoint", teacherFile)), cqLog).Run();
        output.WriteLine(cqLog.ToString());
        Assert.Null(cq.Runs[0].Training);
        Assert.Contains("training skipped", cqLog.ToString());
        Assert.Contains("Cross-quality", cqLog.ToString());
        Assert.Contains("low quality", cq.Runs[1].TestSet);
        Assert.DoesNotContain("low quality", cq.Runs[0].TestSet);
        Assert.Equal(semi.Runs[0].Result.RecallAtK[1], cq.Runs[0].Result.RecallAtK[1]); // same teacher, same clean test set
        Assert.Equal(ResultsTable.CsvHeader, File.ReadLines(Path.Combine(f.Root, "cq", "results.csv")).First());
    }

    [Fact]
    public void SopRunUsesItsRecallCutOffsAndTheQuerySubset()
    {
        using var f = new PaperFixture(trainClasses: 1, testClasses: 1, imagesPerClass: 1);
        string sop = f.WriteSop(trainClasses: 4, testClasses: 5, imagesPerClass: 4);
        var args = TinyArgs(f, f.Report, "--methods", "relative", "--sop-queries", "12", "--checkpoints").ToList();
        args[1] = "sop";
        args[3] = sop;
        var log = new StringWriter();
        var result = new PaperPipeline(PaperArgumentsTests.Parse([.. args]), log).Run();
        output.WriteLine(log.ToString());

        Assert.Contains("59,551", log.ToString());   // SOP's paper counts beside the fixture's
        Assert.Contains("60,502", log.ToString());
        Assert.Contains("(12 queries)", log.ToString());
        Assert.Equal(20, result.Split.Test.Records.Count);
        foreach (var run in result.Runs)
            foreach (var k in new[] { 1, 2, 4, 8, 10, 100, 1000 })   // the paper's SOP cut-offs and the CSV's
                Assert.InRange(run.Result.RecallAtK[k], 0.0, 1.0);
        Assert.All(result.Runs, r => Assert.Equal(1.0, r.Result.RecallAtK[1000]));   // K beyond the gallery: every query hits
        string md = File.ReadAllText(Path.Combine(f.Report, "results.md"));
        Assert.Contains("R@1000", md);
        Assert.Contains("12 random queries against the full test gallery", md);
        Assert.Equal(ResultsTable.CsvHeader, File.ReadLines(Path.Combine(f.Report, "results.csv")).First());

        // --checkpoints wrote resumable checkpoints. The same command again is refused (the report is never overwritten
        // silently); with --resume every finished run is reloaded (nothing is trained) and re-evaluated to the same numbers.
        Assert.True(File.Exists(Path.Combine(f.Report, "checkpoints", "teacher", "last.ckpt")));
        Assert.Contains("--resume", Assert.Throws<UsageException>(() => new PaperPipeline(PaperArgumentsTests.Parse([.. args])).Run()).Message);
        var trained = new List<string>();
        var again = new PaperPipeline(PaperArgumentsTests.Parse([.. args, "--resume"]), runner: (title, train) => { trained.Add(title); return train(null); }).Run();
        Assert.Empty(trained);
        Assert.Equal(result.Runs.Select(r => (r.Training!.Steps, r.LabelledSteps)), again.Runs.Select(r => (r.Training!.Steps, r.LabelledSteps)));
        Assert.Equal(result.Runs.Count + 1, File.ReadAllLines(Path.Combine(f.Report, "results.csv")).Length);
        Assert.Equal(result.Runs.Select(r => r.Result.RecallAtK[1]), again.Runs.Select(r => r.Result.RecallAtK[1]));
    }

    [Fact]
    public void MissingRootIsNamed()
    {
        string root = Path.Combine(Path.GetTempPath(), "ed-paper-missing-" + Guid.NewGuid().ToString("N"));
        // The command line refuses it up front; the pipeline itself (driven from code) names it too, before writing anything.
        Assert.Contains($"Option --root: folder '{root}' does not exist", Assert.Throws<UsageException>(() => PaperArgumentsTests.Parse("--dataset", "cub", "--root", root)).Message);
        var options = new PaperPipelineOptions { Dataset = PaperDataset.Cub, Root = root, Report = Path.Combine(root, "r") };
        var e = Assert.Throws<DirectoryNotFoundException>(() => new PaperPipeline(options).Run());
        Assert.Contains(root, e.Message);
        Assert.Contains("--root", e.Message);
        Assert.False(Directory.Exists(root));
    }

    [Fact]
    public void UnlabelledFolderReadsEveryImageBelowItWithLabelMinusOne()
    {
        using var f = new PaperFixture(trainClasses: 1, testClasses: 1, imagesPerClass: 1);
        string dir = f.WriteUnlabelled(7);
        var layout = UnlabelledImageFolder.Read(dir);
        Assert.Equal(7, layout.Records.Count);
        Assert.All(layout.Records, r => Assert.Equal(-1, r.ClassId));
        Assert.Contains(layout.Records, r => r.RelativePath.Contains("deeper/", StringComparison.Ordinal));
        var ds = UnlabelledImageFolder.Open(dir, new ImageDatasetOptions { Transform = new ImageTransformOptions { ImageSize = 16 } });
        Assert.All(ds.Labels, l => Assert.Equal(-1, l));
        Assert.IsNotType<CrossQualityDataset>(ds);
        Assert.IsType<CrossQualityDataset>(UnlabelledImageFolder.Open(dir, lowQuality: new LowQualityOptions()));
        using (var scope = TorchSharp.torch.NewDisposeScope())
            Assert.Equal(new long[] { 2, 3, 16, 16 }, ds.LoadImages([0, 6], augment: true, seed: 3).shape);

        var missing = Assert.Throws<ImageDataException>(() => UnlabelledImageFolder.Read(Path.Combine(dir, "nope")));
        Assert.Contains("nope", missing.Message);
        string empty = Directory.CreateDirectory(Path.Combine(f.Root, "empty")).FullName;
        Assert.Contains("no .jpg", Assert.Throws<ImageDataException>(() => UnlabelledImageFolder.Read(empty)).Message);
    }
}
