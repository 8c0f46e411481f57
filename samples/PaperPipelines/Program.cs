using EmbeddingDistillation.Samples.CommandLine;
using EmbeddingDistillation.Samples.PaperPipelines;

// The paper's experiments on CUB-200-2011, Cars-196 and Stanford Online Products: teacher training, student
// distillation (absolute, relative, optional RKD / hint / attention / semi-supervised / cross-quality), Recall@K,
// and a report folder. See docs/paper.md for the downloads and the commands; exit codes in docs/command-line.md.
return SampleApp.Run<PaperCommand>(args, PaperCommand.Info);
