namespace EmbeddingDistillation.Tests.Samples;

/// <summary>
/// Tests that compare two whole training runs bit for bit. They rely on torch's process-wide state (the global
/// generator that initialises networks, the thread count), so no other test may run alongside them.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialCollection
{
    public const string Name = "Serial: whole runs compared bit for bit";
}
