using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Losses;

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

    /// <summary>Creates the loss with <paramref name="numClasses"/> proxies of dimension <paramref name="embeddingDim"/>.</summary>
    /// <param name="numClasses">Number of training classes; labels must lie in [0, numClasses).</param>
    /// <param name="embeddingDim">Embedding dimension D.</param>
    /// <param name="alpha">Scale alpha. Default 32.</param>
    /// <param name="delta">Margin delta. Default 0.1.</param>
    public ProxyAnchorLoss(int numClasses, int embeddingDim, double alpha = 32, double delta = 0.1) : base(nameof(ProxyAnchorLoss))
    {
        if (numClasses < 1) throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "ProxyAnchorLoss: numClasses must be >= 1.");
        if (embeddingDim < 1) throw new ArgumentOutOfRangeException(nameof(embeddingDim), embeddingDim, "ProxyAnchorLoss: embeddingDim must be >= 1.");
        if (!(alpha > 0) || !double.IsFinite(alpha)) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "ProxyAnchorLoss: alpha must be a finite number > 0.");
        if (!double.IsFinite(delta)) throw new ArgumentOutOfRangeException(nameof(delta), delta, "ProxyAnchorLoss: delta must be finite.");
        NumClasses = numClasses;
        Alpha = alpha;
        Delta = delta;
        var init = torch.empty(numClasses, embeddingDim);
        nn.init.kaiming_normal_(init, mode: nn.init.FanInOut.FanOut);
        proxies = new Parameter(init);
        RegisterComponents();
    }

    /// <summary>The proxies [numClasses, embeddingDim].</summary>
    public Parameter Proxies => proxies;

    /// <summary>The number of classes.</summary>
    public int NumClasses { get; }

    /// <summary>The scale alpha.</summary>
    public double Alpha { get; }

    /// <summary>The margin delta.</summary>
    public double Delta { get; }

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
        if (lo < 0 || hi >= NumClasses)
            throw new ArgumentException($"ProxyAnchorLoss: labels must lie in [0, {NumClasses}); got range [{lo}, {hi}].", nameof(labels));
        var cos = nn.functional.normalize(embeddings, p: 2, dim: 1).mm(nn.functional.normalize(proxies, p: 2, dim: 1).t());
        var isPos = nn.functional.one_hot(y, NumClasses).to_type(ScalarType.Bool);
        var posSum = (-Alpha * (cos - Delta)).masked_fill(isPos.logical_not(), double.NegativeInfinity).exp().sum(dim: 0);
        var negSum = (Alpha * (cos + Delta)).masked_fill(isPos, double.NegativeInfinity).exp().sum(dim: 0);
        long present;
        using (no_grad()) present = isPos.to_type(ScalarType.Int64).sum(dim: 0).gt(0).sum().item<long>();
        var loss = posSum.log1p().sum() / present + negSum.log1p().sum() / NumClasses;
        return loss.MoveToOuterDisposeScope();
    }
}
