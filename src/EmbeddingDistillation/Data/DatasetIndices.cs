namespace EmbeddingDistillation.Data;

/// <summary>Validation of sample index lists shared by the datasets of this folder.</summary>
internal static class DatasetIndices
{
    /// <summary>Throws a clear exception for a null/empty list or an index outside [0, count).</summary>
    public static void Validate(IReadOnlyList<int>? indices, int count, string datasetName, string paramName = "indices")
    {
        if (indices is null) throw new ArgumentNullException(paramName);
        if (indices.Count == 0) throw new ArgumentException($"The index list for dataset '{datasetName}' is empty.", paramName);
        for (var i = 0; i < indices.Count; i++)
        {
            var index = indices[i];
            if ((uint)index >= (uint)count)
                throw new ArgumentOutOfRangeException(paramName, index,
                    $"Index {index} (position {i}) is out of range for dataset '{datasetName}' with Count {count}.");
        }
    }
}
