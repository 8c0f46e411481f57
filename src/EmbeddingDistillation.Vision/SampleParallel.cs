using System.Runtime.ExceptionServices;

namespace EmbeddingDistillation.Vision;

/// <summary>Parallel loop over the samples of a batch that rethrows a sample's own exception instead of an AggregateException.</summary>
internal static class SampleParallel
{
    public static void For(int count, ParallelOptions options, Action<int> body)
    {
        try
        {
            Parallel.For(0, count, options, body);
        }
        catch (AggregateException e)
        {
            // Surface the sample's own exception (it names the file), preferring data errors.
            var inner = e.Flatten().InnerExceptions;
            ExceptionDispatchInfo.Capture(inner.FirstOrDefault(x => x is ImageDataException) ?? inner[0]).Throw();
        }
    }
}
