using System.Runtime.InteropServices;
using System.Text;
using TorchSharp;

namespace EmbeddingDistillation.Tests.Build;

/// <summary>
/// The build must make TorchSharp load on a fresh Linux machine with no extra command (see the README's Linux note):
/// these tests run from the build output after a plain <c>dotnet test</c>.
/// </summary>
public class TorchSharpLoadTests
{
    [Fact]
    public void TorchSharpLoadsAndComputes()
    {
        using var t = torch.ones(2, 3);
        Assert.Equal(6.0, t.sum().ToDouble());
    }

    [Fact]
    public void OutputCopyIsPatchedExactlyWhenTheSystemLibStdCxxIsTooOld()
    {
        if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux)) return; // the fix only concerns Linux
        var libstdcxx = new[] { "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6", "/usr/lib/aarch64-linux-gnu/libstdc++.so.6" }
            .FirstOrDefault(File.Exists);
        if (libstdcxx is null) return;
        bool systemHasVersion = Contains(File.ReadAllBytes(libstdcxx), "GLIBCXX_3.4.32\0");

        var lib = Directory.GetFiles(AppContext.BaseDirectory, "libLibTorchSharp.so", SearchOption.AllDirectories).Single();
        var bytes = File.ReadAllBytes(lib);
        bool importsNewSymbol = Contains(bytes, "\0_ZSt21ios_base_library_initv\0");
        if (systemHasVersion)
            Assert.True(importsNewSymbol, "the library must be left untouched where libstdc++ is new enough");
        else
        {
            Assert.False(importsNewSymbol, $"{lib} still imports std::ios_base_library_init (GLIBCXX_3.4.32)");
            Assert.True(Contains(bytes, "\0_ZNSt8ios_base4InitC1Ev\0"), "the renamed symbol must be present");
        }
    }

    private static bool Contains(byte[] haystack, string needle)
        => haystack.AsSpan().IndexOf(Encoding.ASCII.GetBytes(needle)) >= 0;
}

public class TestHostEnvironmentTests
{
    [Fact]
    public void TestsRunWithTheLargeGen0BudgetOfTestRunsettings()
    {
        // test.runsettings sets it (docs/training.md, "TorchSharp's implicit scalars and the garbage collector").
        Assert.Equal("0x10000000", Environment.GetEnvironmentVariable("DOTNET_GCgen0size"));
    }
}
