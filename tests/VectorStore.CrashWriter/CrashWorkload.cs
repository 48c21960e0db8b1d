using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Platform.VectorStore.CrashWriter;

public enum CrashOpKind
{
    Upsert,
    Delete,
}

/// <summary>One write of the workload: an upsert of these points at these versions, or a delete of these ids (version -1).</summary>
public sealed record CrashOp(int Index, CrashOpKind Kind, IReadOnlyList<(long N, int Version)> Points)
{
    public IReadOnlyList<string> Ids => Points.Select(p => CrashWorkload.IdOf(p.N)).ToList();
}

/// <summary>
/// The crash writer's workload, shared with the crash tests (compiled into both), so a test can replay exactly what the
/// writer did and check every point against its deterministic content: a point's vectors and payload follow from its
/// number and version alone.
/// </summary>
public static class CrashWorkload
{
    public const string Collection = "crash";

    /// <summary>The number of the point the writer upserts alone, last, in <c>--ops</c> mode: the log's last record.</summary>
    public const long SentinelN = 99_999_999;

    /// <summary>Dot and Euclid keep vectors as given, so what comes back must equal what went in bit for bit.</summary>
    public static CollectionSchema Schema { get; } = new(new Dictionary<string, VectorParams>
    {
        ["a"] = new(16, Distance.Dot),
        ["b"] = new(4, Distance.Euclid),
    });

    public static string IdOf(long n) => $"p{n:D8}";

    public static bool TryParseId(string id, out long n)
    {
        n = 0;
        return id.Length == 9 && id[0] == 'p' && long.TryParse(id.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out n);
    }

    private const string Alphabet = "abcXYZ019 \"\\/é价格\n\t{}[]:,";

    private static readonly JsonSerializerOptions Relaxed = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Point <paramref name="n"/> as written at <paramref name="version"/> (0 when first inserted, +1 per replace).</summary>
    public static VectorPoint Point(long n, int version)
    {
        var state = ((ulong)n * 0x9E3779B97F4A7C15UL) ^ ((ulong)version * 0xD1B54A32D192ED03UL) ^ 0x5EEDUL;
        var a = new float[16];
        for (var i = 0; i < a.Length; i++)
            a[i] = NextFloat(ref state);
        var vectors = new Dictionary<string, float[]> { ["a"] = a };
        if ((n + version) % 4 != 0)
        {
            var b = new float[4];
            for (var i = 0; i < b.Length; i++)
                b[i] = NextFloat(ref state) * 100;
            vectors["b"] = b;
        }
        var text = new StringBuilder();
        var length = (int)((n * 7 + version) % 40);
        for (var i = 0; i < length; i++)
            text.Append(Alphabet[(int)(Next(ref state) % (ulong)Alphabet.Length)]);
        var payload = new JsonObject
        {
            ["n"] = n,
            ["v"] = version,
            ["tag"] = $"t{n % 7}",
            ["even"] = n % 2 == 0,
            ["text"] = text.ToString(),
            ["nested"] = new JsonObject { ["k"] = new JsonArray(n % 3, n % 5), ["none"] = null },
        };
        return new VectorPoint(IdOf(n), vectors, payload.ToJsonString(Relaxed));
    }

    /// <summary>
    /// The writes, in order: mostly batches of <paramref name="minBatch"/>..<paramref name="maxBatch"/> new points, sometimes
    /// a replace or a delete of 1..3 live points. Endless, or <paramref name="count"/> writes and then the sentinel alone.
    /// </summary>
    public static IEnumerable<CrashOp> Ops(int seed, int minBatch, int maxBatch, int? count = null)
    {
        var rng = new Random(seed);
        var live = new List<long>();
        var versions = new Dictionary<long, int>();
        long next = 0;
        for (var index = 0; count is null || index < count; index++)
        {
            var roll = rng.Next(10);
            if (roll <= 1 && live.Count >= 3)
            {
                var chosen = new List<long>();
                var k = rng.Next(1, 4);
                while (chosen.Count < k)
                {
                    var n = live[rng.Next(live.Count)];
                    if (!chosen.Contains(n))
                        chosen.Add(n);
                }
                if (roll == 0)
                {
                    yield return new CrashOp(index, CrashOpKind.Upsert, chosen.Select(n => (n, ++versions[n])).ToList());
                }
                else
                {
                    foreach (var n in chosen)
                    {
                        live.Remove(n);
                        versions.Remove(n);
                    }
                    yield return new CrashOp(index, CrashOpKind.Delete, chosen.Select(n => (n, -1)).ToList());
                }
            }
            else
            {
                var size = rng.Next(minBatch, maxBatch + 1);
                var batch = new List<(long, int)>(size);
                for (var i = 0; i < size; i++, next++)
                {
                    live.Add(next);
                    versions[next] = 0;
                    batch.Add((next, 0));
                }
                yield return new CrashOp(index, CrashOpKind.Upsert, batch);
            }
        }
        yield return new CrashOp(count!.Value, CrashOpKind.Upsert, [(SentinelN, 0)]);
    }

    private static ulong Next(ref ulong state)
    {
        // SplitMix64: the same numbers on every machine and runtime.
        var z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    // 24 random bits scaled into [-1, 1): exactly representable, so no rounding differs between writer and checker.
    private static float NextFloat(ref ulong state) => (float)(((Next(ref state) >> 40) / (double)(1UL << 24) * 2) - 1);
}
