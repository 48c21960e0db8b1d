using System.Text.Json.Nodes;

namespace Platform.VectorStore.Tests.Behaviour;

/// <summary>Brute force in double precision: the ground truth the stores are checked against.</summary>
internal static class VectorMath
{
    public static float[] Gaussian(Random rng, int dimension)
    {
        var v = new float[dimension];
        for (var i = 0; i < dimension; i++)
        {
            var u1 = 1.0 - rng.NextDouble();
            var u2 = rng.NextDouble();
            v[i] = (float)(Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }
        return v;
    }

    public static double Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        var sum = 0.0;
        for (var i = 0; i < a.Length; i++)
            sum += (double)a[i] * b[i];
        return sum;
    }

    public static double Norm(ReadOnlySpan<float> a) => Math.Sqrt(Dot(a, a));

    public static float[] Normalise(float[] v)
    {
        var norm = Norm(v);
        return v.Select(x => (float)(x / norm)).ToArray();
    }

    /// <summary>The score the interface promises: cosine similarity, dot product, or Euclidean distance.</summary>
    public static double Score(Distance distance, ReadOnlySpan<float> query, ReadOnlySpan<float> point) => distance switch
    {
        Distance.Cosine => Dot(query, point) / (Norm(query) * Norm(point)),
        Distance.Dot => Dot(query, point),
        Distance.Euclid => Euclid(query, point),
        _ => throw new ArgumentOutOfRangeException(nameof(distance)),
    };

    public static double Euclid(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        var sum = 0.0;
        for (var i = 0; i < a.Length; i++)
        {
            var d = (double)a[i] - b[i];
            sum += d * d;
        }
        return Math.Sqrt(sum);
    }

    /// <summary>Whether score <paramref name="a"/> is at least as close as <paramref name="b"/>.</summary>
    public static bool AtLeastAsClose(Distance distance, double a, double b) => distance == Distance.Euclid ? a <= b : a >= b;

    /// <summary>The points ranked closest first (ties by ordinal id), with their scores.</summary>
    public static List<(string Id, double Score)> Rank(Distance distance, IEnumerable<(string Id, float[] Vector)> points, float[] query)
    {
        var scored = points.Select(p => (p.Id, Score: Score(distance, query, p.Vector)));
        return (distance == Distance.Euclid
                ? scored.OrderBy(p => p.Score)
                : scored.OrderByDescending(p => p.Score))
            .ThenBy(p => p.Id, StringComparer.Ordinal)
            .ToList();
    }

    public static float[] Mean(IEnumerable<float[]> vectors)
    {
        var list = vectors.ToList();
        var mean = new double[list[0].Length];
        foreach (var v in list)
            for (var i = 0; i < mean.Length; i++)
                mean[i] += v[i];
        return mean.Select(x => (float)(x / list.Count)).ToArray();
    }

    public static float[] Combine(float[] a, double wa, float[] b, double wb) => a.Select((x, i) => (float)(wa * x + wb * b[i])).ToArray();
}

internal static class Payloads
{
    /// <summary>Payloads are JSON objects: equal when they hold the same members and values, whatever the formatting.</summary>
    public static void AssertSame(string expected, string? actual, string what = "payload")
    {
        Assert.True(actual is not null, $"{what}: expected {expected}, got null");
        JsonNode? e = JsonNode.Parse(expected), a;
        try
        {
            a = JsonNode.Parse(actual);
        }
        catch (System.Text.Json.JsonException ex)
        {
            Assert.Fail($"{what}: expected {expected}, got text that is not JSON ({ex.Message}): {actual}");
            return;
        }
        Assert.True(JsonNode.DeepEquals(e, a), $"{what}: expected {expected}, got {actual}");
    }
}
