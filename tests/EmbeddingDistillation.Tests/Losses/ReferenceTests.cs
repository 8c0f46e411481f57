using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Tests.Losses;

/// <summary>Values and input gradients against PyTorch implementations of the original formulas (float64, 1e-6 relative).</summary>
public class ReferenceTests
{
    public static IEnumerable<object[]> DistillationCases() =>
        ReferenceFixture.Indices("absolute", "relative", "rkd_distance", "rkd_angle", "relaxed_contrastive", "attention", "hint");

    public static IEnumerable<object[]> MetricCases() =>
        ReferenceFixture.Indices("triplet", "contrastive", "multi_similarity", "proxy_anchor");

    [Theory]
    [MemberData(nameof(DistillationCases))]
    public void DistillationLossMatchesReference(int index)
    {
        var c = ReferenceFixture.All[index];
        using var scope = torch.NewDisposeScope();
        using var loss = LossFactory.Create(c);
        var student = ReferenceFixture.ToTensor(c.Inputs.GetProperty("student")).requires_grad_(true);
        var teacher = ReferenceFixture.ToTensor(c.Inputs.GetProperty("teacher"));
        var value = loss.forward(student, teacher);
        value.backward();
        ReferenceFixture.AssertClose(torch.tensor(c.Value, dtype: ScalarType.Float64), value.detach(), $"{c} value");
        ReferenceFixture.AssertClose(ReferenceFixture.ToTensor(c.Grads.GetProperty("student")), student.grad!, $"{c} d/dstudent");
    }

    [Theory]
    [MemberData(nameof(MetricCases))]
    public void MetricLossMatchesReference(int index)
    {
        var c = ReferenceFixture.All[index];
        using var scope = torch.NewDisposeScope();
        using var loss = LossFactory.Create(c);
        var embeddings = ReferenceFixture.ToTensor(c.Inputs.GetProperty("embeddings")).requires_grad_(true);
        var labels = ReferenceFixture.Labels(c.Inputs.GetProperty("labels"));
        var value = loss.forward(embeddings, labels);
        value.backward();
        ReferenceFixture.AssertClose(torch.tensor(c.Value, dtype: ScalarType.Float64), value.detach(), $"{c} value");
        ReferenceFixture.AssertClose(ReferenceFixture.ToTensor(c.Grads.GetProperty("embeddings")), embeddings.grad!, $"{c} d/dembeddings");
        if (c.Grads.TryGetProperty("proxies", out var proxyGrad))
        {
            var proxies = loss.parameters().Single();
            ReferenceFixture.AssertClose(ReferenceFixture.ToTensor(proxyGrad), proxies.grad!, $"{c} d/dproxies");
        }
    }
}
