using static TorchSharp.torch;

namespace EmbeddingDistillation.Evaluation;

/// <summary>
/// Retrieval metrics for a random subset of queries against the whole set, self-match excluded: the protocol of the
/// original SOP evaluation code (10,000 queries against all 60,502 test images), which keeps the kNN small.
/// </summary>
public static class SubsetRetrieval
{
    /// <summary>
    /// Recall@K, MAP@R and R-Precision of <paramref name="queryCount"/> queries drawn without replacement (seeded)
    /// from <paramref name="embeddings"/>, each searched against all the other items.
    /// </summary>
    /// <param name="embeddings">[N, D] float32/float64 embeddings.</param>
    /// <param name="labels">[N] integer labels.</param>
    /// <param name="queryCount">Queries to draw (all N when larger).</param>
    /// <param name="ks">Recall cut-offs (clipped to N − 1, as <see cref="RetrievalMetrics"/> does).</param>
    /// <param name="seed">Seed of the query draw.</param>
    /// <param name="cancellationToken">Checked between kNN chunks.</param>
    public static RetrievalResult Evaluate(Tensor embeddings, Tensor labels, int queryCount, IReadOnlyList<int> ks, int seed,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(embeddings);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(ks);
        if (embeddings.dim() != 2 || embeddings.shape[0] < 2)
            throw new ArgumentException($"embeddings must be [N, D] with N >= 2; got [{string.Join(", ", embeddings.shape)}].", nameof(embeddings));
        if (labels.dim() != 1 || labels.shape[0] != embeddings.shape[0])
            throw new ArgumentException($"labels must be [N] with N = {embeddings.shape[0]}; got [{string.Join(", ", labels.shape)}].", nameof(labels));
        if (queryCount < 1) throw new ArgumentOutOfRangeException(nameof(queryCount), queryCount, "queryCount must be >= 1.");
        if (ks.Any(k => k < 1)) throw new ArgumentOutOfRangeException(nameof(ks), "Every K must be >= 1.");

        int n = (int)embeddings.shape[0];
        var label = labels.to(ScalarType.Int64).cpu().data<long>().ToArray();
        var perClass = label.GroupBy(l => l).ToDictionary(g => g.Key, g => g.Count());
        var rng = new Random(seed);
        var order = Enumerable.Range(0, n).ToArray();
        rng.Shuffle(order);
        var queries = order.Take(Math.Min(queryCount, n)).Order().ToArray();

        int maxK = ks.Count == 0 ? 1 : ks.Max();
        int maxR = perClass.Values.Max() - 1;
        int k = Math.Min(Math.Max(maxK, maxR) + 1, n); // + 1: the query itself is in the gallery
        long[] neighbours;
        using (var scope = NewDisposeScope())
        {
            var q = embeddings.index_select(0, tensor(queries.Select(i => (long)i).ToArray(), device: embeddings.device));
            using var knn = NearestNeighbours.Search(q, embeddings, k, cancellationToken: cancellationToken);
            neighbours = knn.Indices.cpu().data<long>().ToArray();
        }

        var hits = ks.Distinct().ToDictionary(x => x, _ => 0.0);
        double mapSum = 0, rpSum = 0;
        int withRelevant = 0;
        var row = new List<long>(k);
        for (int r = 0; r < queries.Length; r++)
        {
            int self = queries[r];
            row.Clear();
            // Drop the query itself (once): duplicates of it stay, as with the self-excluded full protocol.
            bool dropped = false;
            for (int j = 0; j < k; j++)
            {
                long g = neighbours[(long)r * k + j];
                if (!dropped && g == self) { dropped = true; continue; }
                row.Add(g);
            }
            if (!dropped) row.RemoveAt(row.Count - 1);
            long y = label[self];
            foreach (var kk in hits.Keys.ToArray())
            {
                int cut = Math.Min(kk, row.Count);
                for (int j = 0; j < cut; j++)
                    if (label[row[j]] == y) { hits[kk]++; break; }
            }
            int relevant = perClass[y] - 1;
            if (relevant == 0) continue;
            withRelevant++;
            int found = 0;
            double ap = 0;
            for (int j = 0; j < Math.Min(relevant, row.Count); j++)
            {
                if (label[row[j]] != y) continue;
                found++;
                ap += (double)found / (j + 1);
            }
            mapSum += ap / relevant;
            rpSum += (double)found / relevant;
        }
        var recall = hits.ToDictionary(kv => kv.Key, kv => kv.Value / queries.Length);
        return new RetrievalResult(recall, withRelevant == 0 ? 0 : mapSum / withRelevant, withRelevant == 0 ? 0 : rpSum / withRelevant,
            queries.Length, withRelevant);
    }
}
