namespace EmbeddingDistillation.Data;

/// <summary>
/// A tiny, fast, allocation-free pseudo-random generator (SplitMix64). The data layer uses it instead of
/// <see cref="Random"/> so that generated images, samplers and augmentations are bit-identical across .NET
/// versions and independent of thread scheduling (every image/batch derives its own stream from a seed).
/// </summary>
internal struct SplitMix64
{
    private ulong _state;

    /// <summary>Starts a stream from a seed.</summary>
    public SplitMix64(ulong seed) => _state = seed;

    /// <summary>A stream derived from several keys (seed, index, purpose...), decorrelated by hashing.</summary>
    public static SplitMix64 Derive(long a, long b = 0, long c = 0)
    {
        var s = Mix((ulong)a + 0x9E3779B97F4A7C15UL);
        s = Mix(s ^ ((ulong)b + 0xBF58476D1CE4E5B9UL));
        s = Mix(s ^ ((ulong)c + 0x94D049BB133111EBUL));
        return new SplitMix64(s);
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>The next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        _state += 0x9E3779B97F4A7C15UL;
        return Mix(_state);
    }

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [lo, hi).</summary>
    public double Uniform(double lo, double hi) => lo + (hi - lo) * NextDouble();

    /// <summary>Uniform integer in [0, n).</summary>
    public int NextInt(int n)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n), n, "The range size must be positive.");
        return (int)((NextUInt64() >> 33) % (ulong)n);
    }

    /// <summary>True with probability <paramref name="p"/>.</summary>
    public bool Chance(double p) => NextDouble() < p;

    /// <summary>Standard normal (Box-Muller).</summary>
    public double NextGaussian()
    {
        var u1 = 1.0 - NextDouble();
        var u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>Fisher-Yates shuffle in place.</summary>
    public void Shuffle<T>(IList<T> items)
    {
        for (var i = items.Count - 1; i > 0; i--)
        {
            var j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}
