using System.Globalization;
using EmbeddingDistillation.Networks;
using Microsoft.ML.OnnxRuntime;
using TensorElementType = Microsoft.ML.OnnxRuntime.Tensors.TensorElementType;
using TorchSharp;
using static TorchSharp.torch;

namespace EmbeddingDistillation.Onnx;

/// <summary>
/// A frozen teacher run by ONNX Runtime: any ONNX image model that maps images [N, 3, H, W] to a feature vector or
/// map becomes an <see cref="IEmbeddingNetwork"/> that plugs in wherever a teacher goes
/// (<c>TrainingObjective.Distillation(metricLoss, teacher, terms)</c>, the teacher-embedding cache, the validator,
/// the extractor).
/// </summary>
/// <remarks>
/// <para><see cref="Embed"/> preprocesses the batch in TorchSharp (see <see cref="OnnxTeacherOptions"/>), copies it to
/// the host, runs ONNX Runtime (in chunks of the model's batch size when that is fixed, e.g. 1), pools the chosen
/// output into [N, D], L2-normalises it (by default) and returns it on the images' device in their dtype. Nothing
/// of it has a gradient: the teacher is frozen by construction.</para>
/// <para><see cref="Module"/> is an empty TorchSharp module (no parameters), so the trainer's <c>eval()</c>,
/// <c>to(device)</c> and <c>requires_grad = false</c> calls are no-ops. Dispose the teacher to release the ONNX
/// Runtime session.</para>
/// </remarks>
public sealed class OnnxTeacher : IEmbeddingNetwork, IDisposable
{
    private InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly OnnxTeacherOptions _options;
    private readonly string _source;
    private readonly string _inputName;
    private readonly string _outputName;
    private readonly int[] _inputDims;
    private readonly int? _fixedBatch;
    private readonly int? _height;
    private readonly int? _width;
    private readonly Dictionary<string, string> _taps;
    private readonly Tensor? _sourceMean, _sourceStd, _mean, _std;
    private readonly OnnxTeacherModule _module;
    private bool _disposed;

    /// <summary>Loads an ONNX model file as a teacher.</summary>
    /// <param name="modelPath">The <c>.onnx</c> file.</param>
    /// <param name="options">Options; null for the defaults.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="ArgumentException">An option names an input or output the model lacks, or contradicts the model.</exception>
    /// <exception cref="InvalidOperationException">The requested execution provider is not available in this ONNX Runtime.</exception>
    public OnnxTeacher(string modelPath, OnnxTeacherOptions? options = null)
        : this(CheckedPath(modelPath), null, options, $"ONNX model '{modelPath}'")
    {
    }

    /// <summary>Loads an ONNX model from memory as a teacher.</summary>
    /// <param name="model">The model's bytes.</param>
    /// <param name="options">Options; null for the defaults.</param>
    /// <exception cref="ArgumentException">An option names an input or output the model lacks, or contradicts the model.</exception>
    /// <exception cref="InvalidOperationException">The requested execution provider is not available in this ONNX Runtime.</exception>
    public OnnxTeacher(byte[] model, OnnxTeacherOptions? options = null)
        : this(null, model ?? throw new ArgumentNullException(nameof(model)), options, "ONNX model (in memory)")
    {
    }

    private OnnxTeacher(string? path, byte[]? bytes, OnnxTeacherOptions? options, string source)
    {
        _options = options ?? new OnnxTeacherOptions();
        _source = source;
        ValidateOptions(_options);
        _session = CreateSession(path, bytes, _options, source);
        try
        {
            var inputs = _session.InputMetadata;
            if (_options.InputName is null && inputs.Count != 1)
                throw new ArgumentException($"{source} has {inputs.Count} inputs ({string.Join(", ", inputs.Keys)}); set OnnxTeacherOptions.InputName to the one that takes the images.", nameof(options));
            _inputName = _options.InputName ?? inputs.Keys.Single();
            if (!inputs.TryGetValue(_inputName, out var input))
                throw new ArgumentException($"{source} has no input '{_inputName}' (OnnxTeacherOptions.InputName); its inputs: {string.Join(", ", inputs.Keys)}.", nameof(options));
            if (input.ElementDataType != TensorElementType.Float || input.Dimensions.Length != 4)
                throw new ArgumentException($"{source}: input '{_inputName}' is {input.ElementDataType} of rank {input.Dimensions.Length} ({Dims(input.Dimensions)}); an ONNX teacher needs float32 images [N, C, H, W].", nameof(options));
            _inputDims = input.Dimensions.ToArray();
            if (_inputDims[1] > 0 && _inputDims[1] != 3)
                throw new ArgumentException($"{source}: input '{_inputName}' takes {_inputDims[1]} channels ({Dims(_inputDims)}); an ONNX teacher takes 3-channel images.", nameof(options));
            _height = Fixed(_inputDims[2], _options.InputHeight, "height", "InputHeight");
            _width = Fixed(_inputDims[3], _options.InputWidth, "width", "InputWidth");

            var outputs = _session.OutputMetadata;
            _outputName = _options.OutputName ?? _session.OutputNames[0];
            if (!outputs.ContainsKey(_outputName))
                throw new ArgumentException($"{source} has no output '{_outputName}' (OnnxTeacherOptions.OutputName); its outputs: {string.Join(", ", _session.OutputNames)}.", nameof(options));
            _taps = new Dictionary<string, string>(_options.TapOutputs ?? new Dictionary<string, string>(), StringComparer.Ordinal);
            foreach (var (tap, output) in _taps)
                if (!outputs.ContainsKey(output))
                    throw new ArgumentException($"{source} has no output '{output}' for tap '{tap}' (OnnxTeacherOptions.TapOutputs); its outputs: {string.Join(", ", _session.OutputNames)}.", nameof(options));
            foreach (var name in _taps.Values.Append(_outputName))
                if (outputs[name].ElementDataType != TensorElementType.Float)
                    throw new ArgumentException($"{source}: output '{name}' is {outputs[name].ElementDataType}; an ONNX teacher reads float32 outputs.", nameof(options));

            if (_options.DynamicBatch && _inputDims[0] > 0 && _height is not null && _width is not null && TryDynamicBatch(bytes ?? File.ReadAllBytes(path!)))
            {
                BatchMadeDynamic = true;
                _inputDims[0] = -1;
            }
            _fixedBatch = _inputDims[0] > 0 ? _inputDims[0] : null;
            TapNames = _taps.Keys.ToArray();
            Name = _options.Name ?? (path is null ? "onnx" : "onnx-" + Path.GetFileNameWithoutExtension(path));
            _sourceMean = Channels(_options.SourceMean);
            _sourceStd = Channels(_options.SourceStd);
            _mean = Channels(_options.Mean);
            _std = Channels(_options.Std);
            _module = new OnnxTeacherModule(Name);
            EmbeddingDimension = InferEmbeddingDimension(outputs[_outputName].Dimensions);
        }
        catch
        {
            _session.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public int EmbeddingDimension { get; }

    /// <summary>The tap names of <see cref="OnnxTeacherOptions.TapOutputs"/>; empty by default.</summary>
    public IReadOnlyList<string> TapNames { get; }

    /// <summary>An empty module (no parameters): the trainer's mode and device calls are no-ops.</summary>
    public nn.Module Module => _module;

    /// <summary>The graph input that takes the images.</summary>
    public string InputName => _inputName;

    /// <summary>The graph output that gives the embedding.</summary>
    public string OutputName => _outputName;

    /// <summary>The image size the model takes (height, width); null where any size is accepted.</summary>
    public (int? Height, int? Width) InputSize => (_height, _width);

    /// <summary>The model's batch size when its batch dimension is fixed (the teacher then runs in chunks of it); null when dynamic.</summary>
    public int? FixedBatchSize => _fixedBatch;

    /// <summary>Whether the model's fixed batch dimension was made dynamic at load (<see cref="OnnxTeacherOptions.DynamicBatch"/>).</summary>
    public bool BatchMadeDynamic { get; }

    /// <summary>Embeds a batch of images with ONNX Runtime.</summary>
    /// <param name="images">Images [N, 3, H, W], floating point, on any device.</param>
    /// <param name="taps">Tap names from <see cref="TapNames"/>; null or empty for none.</param>
    /// <returns>The embedding [N, D] (and the requested taps) on the images' device, in their dtype, without gradient.</returns>
    /// <exception cref="ArgumentException">The images have the wrong shape or size, or a tap is unknown.</exception>
    public EmbeddingOutput Embed(Tensor images, IReadOnlyCollection<string>? taps = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(images);
        var wanted = (taps ?? []).Distinct(StringComparer.Ordinal).ToArray();
        var unknown = wanted.Where(t => !_taps.ContainsKey(t)).ToArray();
        if (unknown.Length > 0)
            throw new ArgumentException(
                $"ONNX teacher '{Name}' has no tap {string.Join(", ", unknown.Select(u => $"'{u}'"))}; " +
                (_taps.Count == 0
                    ? "it exposes no intermediate maps (TapNames is empty), so hint and attention terms cannot read it. Export the maps as graph outputs and name them in OnnxTeacherOptions.TapOutputs, or use embedding terms (absolute, relative, RKD, relaxed contrastive)."
                    : $"its taps: {string.Join(", ", _taps.Keys)}."),
                nameof(taps));
        if (images.dim() != 4 || images.shape[1] != 3)
            throw new ArgumentException($"ONNX teacher '{Name}' expects images of shape [N, 3, H, W]; got [{string.Join(", ", images.shape)}].", nameof(images));
        if (!images.is_floating_point())
            throw new ArgumentException($"ONNX teacher '{Name}' expects floating-point images; got {images.dtype}.", nameof(images));
        long h = images.shape[2], w = images.shape[3];
        if (!_options.Resize && ((_height is int fh && fh != h) || (_width is int fw && fw != w)))
            throw new ArgumentException(
                $"ONNX teacher '{Name}': input '{_inputName}' of {_source} takes {Size(_height)}x{Size(_width)} images (height x width); got {h}x{w}. " +
                "Feed images of that size, or set OnnxTeacherOptions.Resize = true.", nameof(images));

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var x = Preprocess(images.detach().to(ScalarType.Float32, CPU));
        long n = x.shape[0];
        var names = wanted.Select(t => _taps[t]).Prepend(_outputName).Distinct(StringComparer.Ordinal).ToArray();
        var results = Run(x, names);
        var embedding = Pool(results[_outputName]);
        if (embedding.shape[0] != n || embedding.shape[1] != EmbeddingDimension)
            throw new InvalidOperationException($"ONNX teacher '{Name}': output '{_outputName}' pooled to [{string.Join(", ", embedding.shape)}], expected [{n}, {EmbeddingDimension}].");
        if (_options.Normalize) embedding = nn.functional.normalize(embedding, p: 2, dim: 1, eps: 1e-12);
        var dtype = images.dtype;
        embedding = embedding.to(dtype, images.device).MoveToOuterDisposeScope();
        var features = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var tap in wanted) features[tap] = results[_taps[tap]].to(dtype, images.device).MoveToOuterDisposeScope();
        return new EmbeddingOutput(embedding, features);
    }

    /// <summary>Releases the ONNX Runtime session.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _session.Dispose();
        _runOptions.Dispose();
        _module.Dispose();
        _sourceMean?.Dispose();
        _sourceStd?.Dispose();
        _mean?.Dispose();
        _std?.Dispose();
    }

    /// <inheritdoc />
    public override string ToString() => $"{Name} ({_source}, input '{_inputName}' {Dims(_inputDims)}, output '{_outputName}', D = {EmbeddingDimension})";

    private Tensor Preprocess(Tensor x)
    {
        if (_sourceStd is not null) x = x * _sourceStd;
        if (_sourceMean is not null) x = x + _sourceMean;
        if (_options.Resize && ((_height is int fh && fh != x.shape[2]) || (_width is int fw && fw != x.shape[3])))
            x = nn.functional.interpolate(x, new long[] { _height ?? x.shape[2], _width ?? x.shape[3] }, mode: InterpolationMode.Bilinear, align_corners: false);
        if (_options.ChannelOrder == OnnxChannelOrder.Bgr) x = x.flip(1);
        if (_options.PixelRange == OnnxPixelRange.Byte) x = x * 255.0;
        if (_mean is not null) x = x - _mean;
        if (_std is not null) x = x / _std;
        return x.contiguous();
    }

    /// <summary>Runs the session over the batch (in chunks of the fixed batch size or <see cref="OnnxTeacherOptions.MaxBatchSize"/>), returning each output [N, ...] on the CPU.</summary>
    private Dictionary<string, Tensor> Run(Tensor x, string[] outputNames)
    {
        long n = x.shape[0];
        long chunk = _fixedBatch ?? _options.MaxBatchSize ?? Math.Max(n, 1);
        var parts = outputNames.ToDictionary(o => o, _ => new List<Tensor>(), StringComparer.Ordinal);
        for (long start = 0; start < n; start += chunk)
        {
            long rows = Math.Min(chunk, n - start);
            var slice = x.narrow(0, start, rows);
            if (_fixedBatch is int fb && rows < fb)
                slice = cat(new[] { slice, zeros(new long[] { fb - rows, slice.shape[1], slice.shape[2], slice.shape[3] }) }, 0);
            var data = slice.contiguous().data<float>().ToArray();
            using var input = OrtValue.CreateTensorValueFromMemory(data, slice.shape);
            IDisposableReadOnlyCollection<OrtValue> outputs;
            try
            {
                outputs = _session.Run(_runOptions, new[] { _inputName }, new[] { input }, outputNames);
            }
            catch (OnnxRuntimeException e)
            {
                throw new InvalidOperationException(
                    $"ONNX teacher '{Name}': ONNX Runtime failed on input '{_inputName}' [{string.Join(", ", slice.shape)}] (the model declares {Dims(_inputDims)}): {e.Message}", e);
            }
            using (outputs)
            {
                for (int k = 0; k < outputNames.Length; k++)
                {
                    var value = outputs.ElementAt(k);
                    var shape = value.GetTensorTypeAndShape().Shape;
                    var t = tensor(value.GetTensorDataAsSpan<float>().ToArray(), shape);
                    if (shape.Length == 0 || shape[0] < rows)
                        throw new InvalidOperationException($"ONNX teacher '{Name}': output '{outputNames[k]}' has shape [{string.Join(", ", shape)}]; expected a batch dimension of {rows}.");
                    parts[outputNames[k]].Add(t.narrow(0, 0, rows));
                }
            }
        }
        return parts.ToDictionary(p => p.Key, p => p.Value.Count == 1 ? p.Value[0] : cat(p.Value, 0), StringComparer.Ordinal);
    }

    /// <summary>
    /// Rewrites the fixed batch dimension of the image input and the outputs to a symbolic one and keeps the rewritten
    /// session only if it runs a batch of two exactly as two single images (graphs with batch-specific shape constants
    /// do not).
    /// </summary>
    private bool TryDynamicBatch(byte[] original)
    {
        InferenceSession? candidate = null;
        try
        {
            candidate = CreateSession(null, OnnxBatchDimension.Rewrite(original, [_inputName], null), _options, _source);
            using var scope = NewDisposeScope();
            var probe = rand(new long[] { 2, 3, _height!.Value, _width!.Value }, generator: new Generator(1234)).mul(2).sub(1);
            var (together, shape) = RunRaw(candidate, probe);
            var first = RunRaw(candidate, probe.narrow(0, 0, 1));
            var second = RunRaw(candidate, probe.narrow(0, 1, 1));
            if (shape.Length == 0 || shape[0] != 2 || first.Values.Length * 2 != together.Length || second.Values.Length != first.Values.Length) return false;
            double scale = 1, diff = 0;
            for (int i = 0; i < together.Length; i++)
            {
                float alone = i < first.Values.Length ? first.Values[i] : second.Values[i - first.Values.Length];
                scale = Math.Max(scale, Math.Abs(alone));
                diff = Math.Max(diff, Math.Abs(together[i] - alone));
            }
            if (!(diff <= 1e-4 * scale)) return false;
            (_session, candidate) = (candidate, _session);
            return true;
        }
        catch (Exception e) when (e is OnnxRuntimeException or InvalidDataException or InvalidOperationException)
        {
            return false;
        }
        finally
        {
            candidate?.Dispose();
        }
    }

    private (float[] Values, long[] Shape) RunRaw(InferenceSession session, Tensor x)
    {
        var data = x.contiguous().data<float>().ToArray();
        using var input = OrtValue.CreateTensorValueFromMemory(data, x.shape);
        using var outputs = session.Run(_runOptions, new[] { _inputName }, new[] { input }, new[] { _outputName });
        var value = outputs[0];
        return (value.GetTensorDataAsSpan<float>().ToArray(), value.GetTensorTypeAndShape().Shape);
    }

    private Tensor Pool(Tensor y)
    {
        var pooling = _options.Pooling;
        if (pooling == OnnxOutputPooling.Auto)
            pooling = y.dim() == 2 ? OnnxOutputPooling.Flatten : y.dim() == 4 ? OnnxOutputPooling.GlobalAverage : OnnxOutputPooling.Flatten;
        switch (pooling)
        {
            case OnnxOutputPooling.Flatten:
                return y.reshape(y.shape[0], -1);
            case OnnxOutputPooling.GlobalAverage or OnnxOutputPooling.GlobalMax:
                if (y.dim() < 2) throw PoolingError(y, pooling, "[N, C, ...]");
                if (y.dim() == 2) return y;
                var flat = y.reshape(y.shape[0], y.shape[1], -1);
                return pooling == OnnxOutputPooling.GlobalAverage ? flat.mean(new long[] { 2 }) : flat.amax(new long[] { 2 });
            case OnnxOutputPooling.FirstToken or OnnxOutputPooling.MeanTokens:
                if (y.dim() != 3) throw PoolingError(y, pooling, "[N, T, C]");
                return pooling == OnnxOutputPooling.FirstToken ? y.select(1, 0) : y.mean(new long[] { 1 });
            default:
                throw new ArgumentOutOfRangeException(nameof(OnnxTeacherOptions.Pooling), pooling, "Unknown OnnxOutputPooling.");
        }
    }

    private ArgumentException PoolingError(Tensor y, OnnxOutputPooling pooling, string expected) =>
        new($"ONNX teacher '{Name}': output '{_outputName}' has shape [{string.Join(", ", y.shape)}]; pooling {pooling} needs {expected}.");

    /// <summary>D from the output's declared shape, or from one probe run when the declared shape leaves it open.</summary>
    private int InferEmbeddingDimension(int[] dims)
    {
        var pooling = _options.Pooling;
        if (pooling == OnnxOutputPooling.Auto) pooling = dims.Length == 4 ? OnnxOutputPooling.GlobalAverage : OnnxOutputPooling.Flatten;
        long? declared = pooling switch
        {
            OnnxOutputPooling.Flatten => dims.Length >= 2 && dims.Skip(1).All(d => d > 0) ? dims.Skip(1).Aggregate(1L, (a, d) => a * d) : null,
            OnnxOutputPooling.GlobalAverage or OnnxOutputPooling.GlobalMax => dims.Length >= 2 && dims[1] > 0 ? dims[1] : null,
            _ => dims.Length == 3 && dims[2] > 0 ? dims[2] : null,
        };
        if (declared is long d1) return checked((int)d1);
        if (_height is null || _width is null)
            throw new ArgumentException(
                $"{_source}: output '{_outputName}' has an open shape {Dims(dims)} and input '{_inputName}' an open image size; set OnnxTeacherOptions.InputHeight and InputWidth so that the embedding dimension can be measured.");
        using var scope = NewDisposeScope();
        using var probe = zeros(1, 3, _height.Value, _width.Value);
        var y = Pool(Run(probe, new[] { _outputName })[_outputName]);
        return checked((int)y.shape[1]);
    }

    private int? Fixed(int declared, int? requested, string what, string option)
    {
        if (requested is int r)
        {
            if (r < 1) throw new ArgumentOutOfRangeException(nameof(OnnxTeacherOptions), r, $"OnnxTeacherOptions.{option} must be positive.");
            if (declared > 0 && declared != r)
                throw new ArgumentException($"{_source}: input '{_inputName}' has a fixed {what} of {declared} ({Dims(_inputDims)}); OnnxTeacherOptions.{option} = {r} contradicts it.");
            return r;
        }
        return declared > 0 ? declared : null;
    }

    private static Tensor? Channels(IReadOnlyList<float>? values)
    {
        if (values is null) return null;
        var t = tensor(values.ToArray()).reshape(1, 3, 1, 1);
        t.DetachFromDisposeScope();
        return t;
    }

    private static void ValidateOptions(OnnxTeacherOptions o)
    {
        foreach (var (list, name) in new[] { (o.SourceMean, "SourceMean"), (o.SourceStd, "SourceStd"), (o.Mean, "Mean"), (o.Std, "Std") })
        {
            if (list is null) continue;
            if (list.Count != 3 || list.Any(v => !float.IsFinite(v)))
                throw new ArgumentException($"OnnxTeacherOptions.{name} must hold 3 finite values (one per channel); got [{string.Join(", ", list.Select(v => v.ToString(CultureInfo.InvariantCulture)))}].", nameof(o));
            if (name.EndsWith("Std", StringComparison.Ordinal) && list.Any(v => v <= 0))
                throw new ArgumentException($"OnnxTeacherOptions.{name} must be positive; got [{string.Join(", ", list.Select(v => v.ToString(CultureInfo.InvariantCulture)))}].", nameof(o));
        }
        if ((o.SourceMean is null) != (o.SourceStd is null))
            throw new ArgumentException("OnnxTeacherOptions.SourceMean and SourceStd go together: set both or neither.", nameof(o));
        if (o.MaxBatchSize is < 1) throw new ArgumentOutOfRangeException(nameof(o), o.MaxBatchSize, "OnnxTeacherOptions.MaxBatchSize must be positive or null.");
        if (o.Threads is < 1) throw new ArgumentOutOfRangeException(nameof(o), o.Threads, "OnnxTeacherOptions.Threads must be positive or null.");
        if (o.CudaDeviceId < 0) throw new ArgumentOutOfRangeException(nameof(o), o.CudaDeviceId, "OnnxTeacherOptions.CudaDeviceId must be >= 0.");
        if (!Enum.IsDefined(o.Pooling)) throw new ArgumentOutOfRangeException(nameof(o), o.Pooling, "Unknown OnnxTeacherOptions.Pooling.");
    }

    private static InferenceSession CreateSession(string? path, byte[]? bytes, OnnxTeacherOptions o, string source)
    {
        SessionOptions sessionOptions;
        try
        {
            sessionOptions = new SessionOptions();
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or EntryPointNotFoundException)
        {
            throw new InvalidOperationException(
                "ONNX Runtime's native library could not be loaded. EmbeddingDistillation.Onnx references only its managed API: add Microsoft.ML.OnnxRuntime (CPU) or Microsoft.ML.OnnxRuntime.Gpu (CUDA) to your application.", e);
        }
        using (sessionOptions)
        {
            if (o.Threads is int threads) sessionOptions.IntraOpNumThreads = threads;
            if (o.ExecutionProvider == OnnxExecutionProvider.Cuda)
            {
                var available = OrtEnv.Instance().GetAvailableProviders();
                if (!available.Contains("CUDAExecutionProvider"))
                    throw new InvalidOperationException(
                        $"OnnxTeacherOptions.ExecutionProvider = Cuda, but this ONNX Runtime has no CUDA provider (available: {string.Join(", ", available)}). " +
                        "Reference Microsoft.ML.OnnxRuntime.Gpu instead of Microsoft.ML.OnnxRuntime, or use the Cpu provider.");
                try
                {
                    sessionOptions.AppendExecutionProvider_CUDA(o.CudaDeviceId);
                }
                catch (OnnxRuntimeException e)
                {
                    throw new InvalidOperationException($"ONNX Runtime's CUDA provider could not start on device {o.CudaDeviceId}: {e.Message}", e);
                }
            }
            try
            {
                return path is not null ? new InferenceSession(path, sessionOptions) : new InferenceSession(bytes!, sessionOptions);
            }
            catch (OnnxRuntimeException e)
            {
                throw new InvalidDataException($"{source} could not be loaded by ONNX Runtime: {e.Message}", e);
            }
        }
    }

    private static string CheckedPath(string modelPath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelPath);
        if (!File.Exists(modelPath)) throw new FileNotFoundException($"ONNX model '{modelPath}' not found.", modelPath);
        return modelPath;
    }

    private static string Dims(int[] dims) => "[" + string.Join(", ", dims.Select(d => d > 0 ? d.ToString(CultureInfo.InvariantCulture) : "?")) + "]";

    private static string Size(int? s) => s?.ToString(CultureInfo.InvariantCulture) ?? "any";
}

/// <summary>The teacher's <see cref="IEmbeddingNetwork.Module"/>: a module without parameters or buffers.</summary>
internal sealed class OnnxTeacherModule : nn.Module
{
    public OnnxTeacherModule(string name) : base(name)
    {
    }
}
