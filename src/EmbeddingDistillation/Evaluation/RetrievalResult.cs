namespace EmbeddingDistillation.Evaluation;

/// <summary>All retrieval metrics of one kNN pass (see <see cref="RetrievalMetrics.Evaluate(TorchSharp.torch.Tensor, TorchSharp.torch.Tensor, IReadOnlyList{int}, KnnOptions?, CancellationToken)"/>).</summary>
public sealed class RetrievalResult
{
    internal RetrievalResult(IReadOnlyDictionary<int, double> RecallAtK, double MapAtR, double RPrecision, int QueryCount, int QueriesWithRelevant)
    {
        this.RecallAtK = RecallAtK;
        this.MapAtR = MapAtR;
        this.RPrecision = RPrecision;
        this.QueryCount = QueryCount;
        this.QueriesWithRelevant = QueriesWithRelevant;
    }

    /// <summary>Recall@K by requested K, fractions in [0, 1].</summary>
    public IReadOnlyDictionary<int, double> RecallAtK { get; }

    /// <summary>MAP@R (Musgrave et al.), in [0, 1], over the queries with R &gt; 0.</summary>
    public double MapAtR { get; }

    /// <summary>R-Precision, in [0, 1], over the queries with R &gt; 0.</summary>
    public double RPrecision { get; }

    /// <summary>Number of queries (the denominator of Recall@K).</summary>
    public int QueryCount { get; }

    /// <summary>Queries with R &gt; 0 (the denominator of MAP@R and R-Precision).</summary>
    public int QueriesWithRelevant { get; }
}
