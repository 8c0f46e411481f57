using System.Runtime.InteropServices;

namespace EmbeddingDistillation.Primitives;

/// <summary>
/// Process-wide libtorch settings the library relies on, applied once when the first network is created.
/// Today one: NNPACK is switched off.
/// </summary>
/// <remarks>
/// libtorch asks NNPACK for every gradient-free convolution that oneDNN does not take (batch-1 inference, e.g.
/// latency measurements). Where NNPACK cannot initialise (CPUs it does not know, such as this project's AMD
/// EPYC CI machines), libtorch prints "Could not initialize NNPACK! Reason: Unsupported hardware." on every such
/// call: over a thousand lines into one quickstart run. Switching NNPACK off
/// (<c>at::globalContext().setUserEnabledNNPACK(false)</c>, what <c>torch.backends.nnpack.set_flags(False)</c> does
/// in Python) removes the lines and makes the kernel choice the same on every machine; the convolutions then run
/// on libtorch's native kernels, which are exact. TorchSharp exposes no binding, so the exported C++ entry points
/// are called directly; where they cannot be found (another libtorch build), nothing changes.
/// </remarks>
internal static class TorchRuntime
{
    private static int configured;

    /// <summary>Applies the settings once per process; cheap after the first call.</summary>
    public static void EnsureConfigured()
    {
        if (Interlocked.Exchange(ref configured, 1) == 1) return;
        try
        {
            DisableNnpack();
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
        {
            // Another libtorch layout: the settings are an improvement, not a requirement.
        }
    }

    /// <summary>True when NNPACK is switched off in this process (false where the entry points are unavailable).</summary>
    internal static bool NnpackDisabled { get; private set; }

    private static void DisableNnpack()
    {
        if (!TryLoadTorchCpu(out var library)) return;
        bool windows = OperatingSystem.IsWindows();
        string globalContext = windows ? "?globalContext@at@@YAAEAVContext@1@XZ" : "_ZN2at13globalContextEv";
        string setNnpack = windows ? "?setUserEnabledNNPACK@Context@at@@QEAAX_N@Z" : "_ZN2at7Context20setUserEnabledNNPACKEb";
        if (!NativeLibrary.TryGetExport(library, globalContext, out var getContext)
            || !NativeLibrary.TryGetExport(library, setNnpack, out var setEnabled)) return;
        var context = Marshal.GetDelegateForFunctionPointer<GlobalContext>(getContext)();
        Marshal.GetDelegateForFunctionPointer<SetFlag>(setEnabled)(context, 0);
        NnpackDisabled = true;
    }

    // at::globalContext() returns at::Context&; Context::setUserEnabledNNPACK(bool) is a member: `this` goes first.
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate IntPtr GlobalContext();

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate void SetFlag(IntPtr context, byte enabled);

    private static bool TryLoadTorchCpu(out IntPtr library)
    {
        // TorchSharp has loaded libtorch by now (a tensor op ran); loading by name returns the same library.
        _ = TorchSharp.torch.get_num_threads();
        foreach (var name in new[] { "libtorch_cpu.so", "torch_cpu.dll", "libtorch_cpu.dylib", "torch_cpu" })
            if (NativeLibrary.TryLoad(name, typeof(TorchSharp.torch).Assembly, DllImportSearchPath.SafeDirectories | DllImportSearchPath.AssemblyDirectory, out library))
                return true;
        library = IntPtr.Zero;
        return false;
    }
}
