using TorchSharp;
namespace EmbeddingDistillation.Tests;
public class LoadTests
{
    [Fact]
    public void TorchSharpLoads()
    {
        using var t = torch.ones(2, 3);
        Assert.Equal(6.0, t.sum().item<float>());
    }
}
