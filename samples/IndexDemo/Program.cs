using EmbeddingDistillation.Samples.CommandLine;
using EmbeddingDistillation.Samples.IndexDemo;

// Index demo: embed the synthetic test classes into an EmbeddingIndex, save, load, query, draw (IndexDemoCommand).
// Exit codes in docs/command-line.md.
return SampleApp.Run<IndexDemoCommand>(args, IndexDemoCommand.Info);
