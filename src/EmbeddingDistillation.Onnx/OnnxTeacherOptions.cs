namespace EmbeddingDistillation.Onnx;

/// <summary>The channel order an ONNX model expects.</summary>
public enum OnnxChannelOrder
{
    /// <summary>Red, green, blue (PyTorch, timm, Hugging Face exports; the library's own images).</summary>
    Rgb,

    /// <summary>Blue, green, red (Caffe- and CNTK-trained models, e.g. ML.NET's ResNet featurizers).</summary>
    Bgr,
}

/// <summary>The pixel value range an ONNX model expects, before its mean/std.</summary>
public enum OnnxPixelRange
{
    /// <summary>Values in [0, 1] (torchvision, timm, Hugging Face).</summary>
    Unit,

    /// <summary>Values in [0, 255] (Caffe, CNTK).</summary>
    Byte,
}

/// <summary>How an ONNX output becomes an embedding [N, D].</summary>
public enum OnnxOutputPooling
{
    /// <summary>
    /// By rank: [N, D] as it is; [N, C, H, W] global average over H and W (a 1x1 map gives [N, C]); any other rank
    /// flattened to [N, everything else].
    /// </summary>
    Auto,

    /// <summary>Flattened to [N, everything else].</summary>
    Flatten,

    /// <summary>[N, C, ...] averaged over every dimension after the channels.</summary>
    GlobalAverage,

    /// <summary>[N, C, ...] maximum over every dimension after the channels.</summary>
    GlobalMax,

    /// <summary>[N, T, C] tokens (vision transformers): the first (class) token.</summary>
    FirstToken,

    /// <summary>[N, T, C] tokens: the mean over tokens.</summary>
    MeanTokens,
}

/// <summary>Where ONNX Runtime runs the teacher.</summary>
public enum OnnxExecutionProvider
{
    /// <summary>ONNX Runtime's CPU provider (always available).</summary>
    Cpu,

    /// <summary>
    /// ONNX Runtime's CUDA provider; needs an ONNX Runtime with CUDA (the application references
    /// <c>Microsoft.ML.OnnxRuntime.Gpu</c>), else loading the teacher fails with a message that says so.
    /// </summary>
    Cuda,
}

/// <summary>
/// Options of an <see cref="OnnxTeacher"/>: what the model's input expects, which output is the embedding and how it
/// is pooled, and where ONNX Runtime runs it. All optional; the defaults feed the images unchanged to the model's
/// only input and average its first output into an L2-normalised embedding.
/// </summary>
/// <remarks>
/// Preprocessing runs in TorchSharp, in this order: undo the incoming normalisation (<see cref="SourceMean"/>,
/// <see cref="SourceStd"/>), resize (<see cref="Resize"/>), reorder the channels (<see cref="ChannelOrder"/>), scale
/// (<see cref="PixelRange"/>), normalise for the model (<see cref="Mean"/>, <see cref="Std"/>). With every default the
/// images reach the model exactly as the trainer passes them.
/// </remarks>
public sealed record OnnxTeacherOptions
{
    /// <summary>The teacher's name in logs (<c>IEmbeddingNetwork.Name</c>); null (default) = <c>onnx-</c> + the file name without extension.</summary>
    public string? Name { get; init; }

    /// <summary>The graph input that takes the images; null (default) = the model's only input.</summary>
    public string? InputName { get; init; }

    /// <summary>The graph output that gives the embedding; null (default) = the model's first output.</summary>
    public string? OutputName { get; init; }

    /// <summary>How the output becomes an embedding [N, D]. Default <see cref="OnnxOutputPooling.Auto"/>.</summary>
    public OnnxOutputPooling Pooling { get; init; } = OnnxOutputPooling.Auto;

    /// <summary>L2-normalise the embedding (as the paper's head does). Default true.</summary>
    public bool Normalize { get; init; } = true;

    /// <summary>
    /// Named intermediate outputs the teacher exposes as taps for hint and attention terms: tap name -> graph output
    /// name (each a [N, C, H, W] map; the value must be a graph output of the model). Default none: the teacher has no
    /// taps, and a term that asks for one fails naming it.
    /// </summary>
    public IReadOnlyDictionary<string, string>? TapOutputs { get; init; }

    /// <summary>
    /// The image height the model takes; null (default) = the input's fixed height, or any height if the model's is
    /// symbolic. Images of another height fail with a message naming both, unless <see cref="Resize"/> is set.
    /// </summary>
    public int? InputHeight { get; init; }

    /// <summary>The image width the model takes; as <see cref="InputHeight"/>.</summary>
    public int? InputWidth { get; init; }

    /// <summary>Resize images of another size to the model's (bilinear, no antialiasing). Default false: they fail.</summary>
    public bool Resize { get; init; }

    /// <summary>
    /// The per-channel mean (R, G, B, in [0, 1] units) the incoming images were normalised with, e.g.
    /// <c>ImageNormalization.ImageNetMean</c> for the library's ImageNet-normalised datasets; null (default) = the
    /// images are taken as they come. Set it together with <see cref="SourceStd"/> when the model needs another
    /// normalisation than the trainer's images carry.
    /// </summary>
    public IReadOnlyList<float>? SourceMean { get; init; }

    /// <summary>The per-channel standard deviation (R, G, B) the incoming images were normalised with; null (default) = none.</summary>
    public IReadOnlyList<float>? SourceStd { get; init; }

    /// <summary>The channel order the model expects. Default <see cref="OnnxChannelOrder.Rgb"/>.</summary>
    public OnnxChannelOrder ChannelOrder { get; init; } = OnnxChannelOrder.Rgb;

    /// <summary>The value range the model expects before its mean/std. Default <see cref="OnnxPixelRange.Unit"/>.</summary>
    public OnnxPixelRange PixelRange { get; init; } = OnnxPixelRange.Unit;

    /// <summary>
    /// The per-channel mean the model subtracts, in the model's channel order and value range (e.g. 0.485, 0.456,
    /// 0.406 for torchvision; about 103.1, 115.9, 123.2 for ML.NET's BGR ResNets); null (default) = none.
    /// </summary>
    public IReadOnlyList<float>? Mean { get; init; }

    /// <summary>The per-channel standard deviation the model divides by, as <see cref="Mean"/>; null (default) = none.</summary>
    public IReadOnlyList<float>? Std { get; init; }

    /// <summary>Where ONNX Runtime runs the model. Default <see cref="OnnxExecutionProvider.Cpu"/>.</summary>
    public OnnxExecutionProvider ExecutionProvider { get; init; } = OnnxExecutionProvider.Cpu;

    /// <summary>The CUDA device for <see cref="OnnxExecutionProvider.Cuda"/>. Default 0.</summary>
    public int CudaDeviceId { get; init; }

    /// <summary>ONNX Runtime's intra-op threads; null (default) = ONNX Runtime's choice (all cores).</summary>
    public int? Threads { get; init; }

    /// <summary>
    /// Make a fixed batch dimension (often 1) dynamic when the model allows it (default true): the image input's and
    /// the outputs' batch dimension is rewritten to a symbolic one, and the rewritten model is kept only if it runs a
    /// batch of two exactly as two single images (checked once at load, with three probe runs); otherwise, or with
    /// false, the model runs in chunks of its batch size. Needs a fixed image size.
    /// </summary>
    public bool DynamicBatch { get; init; } = true;

    /// <summary>
    /// Images per ONNX Runtime call for a model with a dynamic batch dimension; null (default) = the whole batch.
    /// A model whose batch dimension stays fixed (see <see cref="DynamicBatch"/>) is run in chunks of that size.
    /// </summary>
    public int? MaxBatchSize { get; init; }
}
