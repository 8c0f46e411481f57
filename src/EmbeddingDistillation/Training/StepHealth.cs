using EmbeddingDistillation.Losses;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Training;

/// <summary>What one training step measured, read from the device in one copy.</summary>
/// <param name="Loss">The weighted total.</param>
/// <param name="Terms">Each term's unweighted value by name.</param>
/// <param name="Problem">Where the first non-finite value appeared, or null for a healthy step.</param>
/// <param name="Term">The term's name when <paramref name="Problem"/> is <see cref="NonFiniteLocation.Term"/>.</param>
internal sealed record StepReading(double Loss, IReadOnlyDictionary<string, double> Terms, NonFiniteLocation? Problem, string? Term)
{
    /// <summary>Where, in words, for logs and errors.</summary>
    public string Where => Problem switch
    {
        NonFiniteLocation.StudentEmbeddings => "the student's embeddings are",
        NonFiniteLocation.TeacherEmbeddings => "the teacher's embeddings are",
        NonFiniteLocation.Term => $"the term '{Term}' is",
        NonFiniteLocation.TotalLoss => "the weighted total of finite terms is",
        NonFiniteLocation.Gradients => "the gradients (global norm) are",
        _ => "nothing is",
    };
}

/// <summary>
/// The step's health check, fused with the loss read-out the trainer needs anyway: one small float64 vector holds
/// the total, every term, the sum of the student's and of the teacher's embeddings and the global gradient norm,
/// and one copy to the host reads it. A sum or norm is finite exactly when every element it covers is (NaN
/// propagates; infinities stay infinite or become NaN; float64 cannot overflow on float32 data).
/// </summary>
internal static class StepHealth
{
    /// <summary>The global L2 norm of the gradients [1] (float64), on the parameters' device.</summary>
    public static Tensor GradientNorm(IEnumerable<Parameter> parameters, Device device)
    {
        var norms = new List<Tensor>();
        foreach (var p in parameters)
            if (p.grad is { } g) norms.Add(g.norm().to_type(ScalarType.Float64).reshape(1));
        return norms.Count == 0 ? zeros(1, ScalarType.Float64, device) : cat(norms, 0).square().sum().sqrt().reshape(1);
    }

    /// <summary>Scales the gradients so their global norm is at most <paramref name="maxNorm"/>, without a host copy.</summary>
    /// <remarks>PyTorch's <c>clip_grad_norm_</c>: factor min(1, max / (norm + 1e-6)).</remarks>
    public static void Clip(IEnumerable<Parameter> parameters, Tensor norm, double maxNorm)
    {
        // Explicit scalars, held to the end: see Optimizer's remarks on TorchSharp's implicit Scalar temporaries.
        using var epsilon = 1e-6.ToScalar();
        using var max = maxNorm.ToScalar();
        using var one = 1.0.ToScalar();
        using var factor = norm.add(epsilon).reciprocal_().mul_(max).clamp_max_(one);
        foreach (var p in parameters)
            if (p.grad is { } g) g.mul_(factor.to_type(g.dtype));
    }

    /// <summary>Reads the total, the terms and the health of the step with one host copy.</summary>
    public static StepReading Read(ObjectiveValue value, Tensor studentEmbedding, Tensor? teacherEmbedding, Tensor gradientNorm)
    {
        var device = studentEmbedding.device;
        var probe = cat(new[]
        {
            value.Total.detach().to_type(ScalarType.Float64).reshape(1),
            value.TermValues.to(device),
            studentEmbedding.detach().sum(ScalarType.Float64).reshape(1),
            teacherEmbedding is null ? zeros(1, ScalarType.Float64, device) : teacherEmbedding.detach().sum(ScalarType.Float64).reshape(1).to(device),
            gradientNorm.to(device),
        }, 0);
        double[] v;
        using (var host = probe.cpu()) v = host.data<double>().ToArray();
        var names = value.TermNames;
        var terms = new Dictionary<string, double>(names.Count);
        for (int i = 0; i < names.Count; i++) terms[names[i]] = v[1 + i];
        int k = names.Count;
        NonFiniteLocation? problem = null;
        string? term = null;
        // The first cause in data-flow order: inputs of the loss, then the loss, then the backward pass.
        if (!double.IsFinite(v[k + 1])) problem = NonFiniteLocation.StudentEmbeddings;
        else if (!double.IsFinite(v[k + 2])) problem = NonFiniteLocation.TeacherEmbeddings;
        else if (names.Select((n, i) => (n, i)).FirstOrDefault(p => !double.IsFinite(v[1 + p.i])) is { n: not null } bad)
        {
            problem = NonFiniteLocation.Term;
            term = bad.n;
        }
        else if (!double.IsFinite(v[0])) problem = NonFiniteLocation.TotalLoss;
        else if (!double.IsFinite(v[k + 3])) problem = NonFiniteLocation.Gradients;
        return new StepReading(v[0], terms, problem, term);
    }
}

/// <summary>Copies of modules' buffers (batch-norm statistics) taken before a step, to undo a skipped step.</summary>
internal sealed class BufferSnapshot
{
    private readonly (Tensor Buffer, Tensor Copy)[] _pairs;

    private BufferSnapshot((Tensor, Tensor)[] pairs) => _pairs = pairs;

    /// <summary>Copies every buffer of the modules (inside the caller's dispose scope).</summary>
    public static BufferSnapshot Take(IEnumerable<nn.Module> modules) =>
        new(modules.SelectMany(m => m.buffers()).Select(b => (b, b.detach().clone())).ToArray());

    /// <summary>Writes the copies back.</summary>
    public void Restore()
    {
        using var noGrad = no_grad();
        foreach (var (buffer, copy) in _pairs) buffer.copy_(copy);
    }
}
