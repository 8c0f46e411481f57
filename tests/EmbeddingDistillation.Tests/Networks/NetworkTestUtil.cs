using EmbeddingDistillation.Networks;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Tests.Networks;

/// <summary>Tiny networks for fast tests.</summary>
internal static class NetworkTestUtil
{
    public static EmbeddingNetwork TinyResNet18(int dim = 16, bool normalize = true, bool smallStem = false)
        => EmbeddingNetworks.ResNet18(dim, new EmbeddingNetworkOptions { BaseWidth = 4, Normalize = normalize, SmallInputStem = smallStem });

    public static Tensor Images(int n, int size, long seed = 0)
    {
        var g = new Generator((ulong)seed);
        return randn(new long[] { n, 3, size, size }, generator: g);
    }

    public static string FixturePath(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "Networks", name);
}
