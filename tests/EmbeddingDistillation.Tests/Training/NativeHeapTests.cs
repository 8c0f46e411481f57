using System.Runtime.InteropServices;
using EmbeddingDistillation.Primitives;
using EmbeddingDistillation.Training;

namespace EmbeddingDistillation.Tests.Training;

public class NativeHeapTests
{
    [Fact]
    public void TrainerKeepsFreedNativeMemoryOnGlibc()
    {
        var net = new TinyNetwork(48, 16, 8, seed: 1);
        var train = new BlobDataset(8, 10, 5);
        new Trainer().Fit(net, TrainingObjective.MetricOnly(new TestContrastive()),
            new TrainingData { Train = train, Sampler = new SimplePkSampler(train.Labels, p: 4, k: 4, seed: 3, batches: 1) },
            new TrainingOptions { Epochs = 1, LearningRate = 1e-2 });
        bool glibc = OperatingSystem.IsLinux() && NativeLibrary.TryLoad("libc.so.6", out var libc)
            && NativeLibrary.TryGetExport(libc, "gnu_get_libc_version", out _);
        // The setting is process-wide and one-way: any Fit with the default options turns it on, where glibc is the C library.
        Assert.Equal(glibc, NativeHeap.KeepsFreedMemory);
    }

    [Fact]
    public void OptionDefaultsToTrue() => Assert.True(new TrainingOptions().ReuseNativeMemory);
}
