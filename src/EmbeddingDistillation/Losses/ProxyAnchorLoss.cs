using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Losses;

/// <summary>Options of <see cref="ProxyAnchorLoss"/>.</summary>
public sealed record ProxyAnchorLossOptions
{
    /// <summary>Number of training classes: one proxy each; labels must lie in [0, ClassCount).</summary>
    public required int ClassCount { get; init; }

    /// <summary>Embedding dimension D of the proxies.</summary>
    public required int EmbeddingDimension { get; init; }

    /// <summary>Scale alpha (finite, &gt; 0). Default 32.</summary>
    public double Alpha { get; init; } = 32;

    /// <summary>Margin delta (finite). Default 0.1.</summary>
    public double Delta { get; init; } = 0.1;
}

/// <summary>
/// Proxy-Anchor loss (Kim, Kim, Cho, Kwak, CVPR 2020): one learnable proxy per class; with cos = cosine similarity of
/// embeddings and proxies, loss = 1/|P+| sum_{p in P+} log(1 + sum_{x in X_p+} exp(-alpha (cos(x,p) - delta)))
/// + 1/C sum_p log(1 + sum_{x in X_p-} exp(alpha (cos(x,p) + delta))), P+ the classes present in the batch.
/// </summary>
/// <remarks>Proxies are initialised kaiming-normal (fan_out) as in the authors' code; add them to the optimiser
/// (the authors use a 100x larger learning rate for them) via <see cref="MetricLossModule.LearnableParameters"/>.</remarks>
public sealed class ProxyAnchorLoss : MetricLossModule
{
    private readonly Parameter proxies;

    /// <summary>Creates the loss with <see cref="ProxyAnchorLossOptions.ClassCount"/> proxies.</summary>
    /// <param name="options">The options (class count and dimension are required).</param>
    public ProxyAnchorLoss(ProxyAnchorLossOptions options) : base(nameof(ProxyAnchorLoss))
    {
        ArgumentNullException.ThrowIfNull(options);
        int numClasses = options.ClassCount, embeddingDim = options.EmbeddingDimension;
        double alpha = options.Alpha, delta = options.Delta;
        if (numClasses < 1) throw new ArgumentOutOfRangeException(nameof(options), numClasses, "ProxyAnchorLoss: ClassCount must be >= 1.");
        if (embeddingDim < 1) throw new ArgumentOutOfRangeException(nameof(options), embeddingDim, "ProxyAnchorLoss: EmbeddingDimension must be >= 1.");
        if (!(alpha > 0) || !double.IsFinite(alpha)) throw new ArgumentOutOfRangeException(nameof(options), alpha, "ProxyAnchorLoss: Alpha must be a finite number > 0.");
        if (!double.IsFinite(delta)) throw new ArgumentOutOfRangeException(nameof(options), delta, "ProxyAnchorLoss: Delta must be finite.");
        Options = options;
        ClassCount = numClasses;
        Alpha = alpha;
        Delta = delta;
        var init = torch.empty(numClasses, embeddingDim);
        nn.init.kaiming_normal_(init, mode: nn.init.FanInOut.FanOut);
        proxies = new Parameter(init);
        RegisterComponents();
    }

    /// <summary>The proxies [ClassCount, EmbeddingDimension].</summary>
    public Parameter Proxies => proxies;

    /// <summary>The options in use.</summary>
    public ProxyAnchorLossOptions Options { get; }

    internal int ClassCount { get; }

    internal double Alpha { get; }

    internal double Delta { get; }

    /// <inheritdoc />
    public override string Name => "proxy-anchor";

    /// <summary>Computes the loss of a labelled batch.</summary>
    /// <param name="embeddings">Embeddings [N, D].</param>
    /// <param name="labels">Integer labels [N] in [0, numClasses).</param>
    public override Tensor forward(Tensor embeddings, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var y = LossInputs.Labelled(embeddings, labels, nameof(ProxyAnchorLoss));
        if (embeddings.shape[1] != proxies.shape[1])
            throw new ArgumentException($"ProxyAnchorLoss: embeddings {LossInputs.Shape(embeddings)} do not match the proxies' dimension {proxies.shape[1]}.", nameof(embeddings));
        if (embeddings.dtype != proxies.dtype || !LossInputs.SameDevice(embeddings, proxies))
            throw new ArgumentException($"ProxyAnchorLoss: proxies are {proxies.dtype} on {proxies.device} but embeddings {embeddings.dtype} on {embeddings.device}; move the loss with .to().", nameof(embeddings));
        var lo = y.min().item<long>();
        var hi = y.max().item<long>();
        if (lo < 0 || hi >= ClassCount)
            throw new ArgumentException($"ProxyAnchorLoss: labels must lie in [0, {ClassCount}); got range [{lo}, {hi}].", nameof(labels));
        var cos = nn.functional.normalize(embeddings, p: 2, dim: 1).mm(nn.functional.normalize(proxies, p: 2, dim: 1).t());
        var isPos = nn.functional.one_hot(y, ClassCount).to_type(ScalarType.Bool);
        var posSum = (-Alpha * (cos - Delta)).masked_fill(isPos.logical_not(), double.NegativeInfinity).exp().sum(dim: 0);
        var negSum = (Alpha * (cos + Delta)).masked_fill(isPos, double.NegativeInfinity).exp().sum(dim: 0);
        long present;
        using (no_grad()) present = isPos.to_type(ScalarType.Int64).sum(dim: 0).gt(0).sum().item<long>();
        var loss = posSum.log1p().sum() / present + negSum.log1p().sum() / ClassCount;
        return loss.MoveToOuterDisposeScope();
    }
}
