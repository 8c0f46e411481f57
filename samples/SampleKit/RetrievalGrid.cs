using EmbeddingDistillation.Data;
using EmbeddingDistillation.Export;
using EmbeddingDistillation.Networks;

namespace EmbeddingDistillation.Samples;

/// <summary>
/// Queries an embedding index with a few images of distinct classes and draws the result grid (query, then its top
/// results framed green for the query's class and red otherwise). Shared by the quickstart and the index demo.
/// </summary>
public static class RetrievalGrid
{
    /// <summary>Searches <paramref name="index"/> (built over <paramref name="gallery"/>, ids = rows) and writes the PNG.</summary>
    /// <param name="path">PNG to write.</param>
    /// <param name="network">The network that embedded the index.</param>
    /// <param name="index">The index; its ids are row numbers of <paramref name="gallery"/>.</param>
    /// <param name="gallery">The indexed images: a view of an in-memory dataset whose raw pixels are drawn.</param>
    /// <param name="pixels">The in-memory dataset that holds the raw pixels.</param>
    /// <param name="queries">How many queries (distinct classes).</param>
    /// <param name="k">Results per query.</param>
    /// <param name="seed">Chooses the queries.</param>
    /// <param name="describe">Optional class description for the console lines.</param>
    /// <returns>The number of correct hits and of all hits.</returns>
    public static (int Correct, int Total) Write(string path, IEmbeddingNetwork network, EmbeddingIndex index, DatasetView gallery,
        InMemoryImageDataset pixels, int queries, int k, int seed, Func<int, string>? describe = null)
    {
        // Queries are in the index themselves: ask for one more hit and drop the query's own entry.
        var random = new Random(seed);
        var queryRows = gallery.Labels.Select((label, row) => (label, row)).GroupBy(x => x.label)
            .OrderBy(_ => random.Next()).Take(queries).Select(g => g.ElementAt(random.Next(g.Count())).row).ToArray();
        var answers = index.Search(network, gallery.Subset(queryRows), k + 1);

        var plane = 3 * pixels.Height * pixels.Width;
        byte[] Pixels(int row) => pixels.Pixels.Slice(gallery.ParentIndices[row] * plane, plane).ToArray();
        var rows = new List<GridRow>();
        int correct = 0;
        for (var q = 0; q < queryRows.Length; q++)
        {
            var queryLabel = gallery.Labels[queryRows[q]];
            var hits = answers[q].Where(h => h.Id != queryRows[q]).Take(k).Select(h =>
            {
                var label = gallery.Labels[(int)h.Id];
                if (label == queryLabel) correct++;
                return (Pixels((int)h.Id), $"c{label} d={h.Distance:F2}", label == queryLabel);
            }).ToArray();
            rows.Add(new GridRow(Pixels(queryRows[q]), $"query c{queryLabel}", hits));
            if (describe is not null)
                Console.WriteLine($"  query class {queryLabel} ({describe(queryLabel)}): " + string.Join(", ", hits.Select(h => h.Item2 + (h.Item3 ? " +" : " -"))));
        }
        int total = rows.Sum(r => r.Hits.Count);
        IndexGrid.Save(path, rows, pixels.Width, $"{network.Name}: {correct} of {total} results share the query's class (test classes, unseen in training)");
        return (correct, total);
    }
}
