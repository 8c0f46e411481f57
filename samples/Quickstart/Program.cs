using EmbeddingDistillation.Samples.CommandLine;
using EmbeddingDistillation.Samples.Quickstart;

// The README's main command: teacher -> baseline student -> distilled students on the embedded synthetic dataset,
// evaluated on held-out classes, with a report folder. See docs/quickstart.md; exit codes in docs/command-line.md.
return SampleApp.Run<QuickstartCommand>(args, QuickstartCommand.Info);
