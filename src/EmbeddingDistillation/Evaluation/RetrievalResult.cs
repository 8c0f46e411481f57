namespace EmbeddingDistillation.Evaluation;

/// <summary>All retrieval metrics of one kNN pass (see <see cref="RetrievalMetrics.Evaluate(TorchSharp.torch.Tensor, TorchSharp.torch.Tensor, IReadOnlyList{int}, KnnOptions?, CancellationToken)"/>).</summary>
/// <param name="RecallAtK">Recall@K by requested K, fractions in [0, 1].</param>
/// <param name="MapAtR">MAP@R (Musgrave et al.), in [0, 1], over the queries with R &gt; 0.</param>
/// <param name="RPrecision">R-Precision, in [0, 1], over the queries with R &gt; 0.</param>
/// <param name="QueryCount">Number of queries (the denominator of Recall@K).</param>
/// <param name="QueriesWithRelevant">Queries with R &gt; 0 (the denominator of MAP@R and R-Precision).</param>
public sealed record RetrievalResult(
    IReadOnlyDictionary<int, double> RecallAtK,
    double MapAtR,
    double RPrecision,
    int QueryCount,
    int QueriesWithRelevant);
