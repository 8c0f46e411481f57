using System.Runtime.InteropServices;

namespace EmbeddingDistillation.Primitives;

/// <summary>
/// Keeps the C heap's freed memory in the process for reuse (Linux, glibc), so that libtorch's large CPU tensors
/// are not handed back to the kernel at every free and page-faulted in again at the next step.
/// </summary>
/// <remarks>
/// libtorch allocates CPU tensors with <c>posix_memalign</c>. glibc serves every block above its mmap threshold
/// (128 KiB, adapting up to 32 MiB) with a fresh <c>mmap</c> and returns it with <c>munmap</c> on free, and trims the
/// heap top above 128 KiB. A training step at 224 px frees and reallocates gigabytes of activations and gradients
/// (MobileNetV2, batch 32: ~3.5 GB at peak), so every step page-faults all of it again: 1.8 million minor faults per
/// step, the kernel zeroing every page; on the shared 2-core VM a step took 14-25 s instead of 1.8 s, in TorchSharp
/// and in PyTorch alike (docs/benchmarks.md, "Training step vs PyTorch"). <c>mallopt(M_MMAP_MAX, 0)</c> serves large
/// blocks from the heap instead and <c>mallopt(M_TRIM_THRESHOLD, -1)</c> keeps the freed heap top: freed blocks are
/// reused at the next step and the process keeps its peak native memory (what jemalloc or tcmalloc, the allocators
/// recommended for PyTorch CPU training, also do). This is the effect of
/// <c>GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=...</c> without an environment variable.
/// Blocks larger than a 64 MiB arena heap that are allocated on threads other than the one that owns the main
/// arena (normally the process's first thread) are still mapped and unmapped by glibc. On other C libraries and
/// operating systems nothing changes.
/// </remarks>
internal static class NativeHeap
{
    private const int MTrimThreshold = -1;
    private const int MMmapMax = -4;
    private static int applied;

    /// <summary>True once the setting is in effect in this process.</summary>
    public static bool KeepsFreedMemory { get; private set; }

    /// <summary>Applies the setting once per process (a no-op elsewhere than Linux with glibc).</summary>
    public static void KeepFreedMemory()
    {
        if (Interlocked.Exchange(ref applied, 1) == 1 || !OperatingSystem.IsLinux()) return;
        try
        {
            if (!IsGlibc()) return;
            // mallopt returns 1 on success; -1 as M_TRIM_THRESHOLD's value is SIZE_MAX, "never trim".
            KeepsFreedMemory = mallopt(MMmapMax, 0) == 1 && mallopt(MTrimThreshold, -1) == 1;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // Not glibc after all: the setting is an improvement, not a requirement.
        }
    }

    private static bool IsGlibc()
    {
        try
        {
            return Marshal.PtrToStringAnsi(gnu_get_libc_version()) is { Length: > 0 };
        }
        catch (EntryPointNotFoundException)
        {
            return false; // musl and others have no gnu_get_libc_version
        }
    }

    [DllImport("libc", CallingConvention = CallingConvention.Cdecl)]
    private static extern int mallopt(int param, int value);

    [DllImport("libc", CallingConvention = CallingConvention.Cdecl)]
    private static extern IntPtr gnu_get_libc_version();
}
