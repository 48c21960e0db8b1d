using Platform.VectorStore;
using Platform.VectorStore.Embedded;

namespace Platform.VectorStore.Tests;

/// <summary>The engine's parts on their own: the SIMD kernels and the HNSW graph against exact search.</summary>
public sealed class HnswIndexTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(33)]
    [InlineData(512)]
    [InlineData(1000)]
    public unsafe void Kernels_agree_with_plain_arithmetic_for_every_length(int n)
    {
        var random = new Random(n);
        var a = Enumerable.Range(0, n).Select(_ => (float)random.NextDouble() * 2 - 1).ToArray();
        var b = Enumerable.Range(0, n).Select(_ => (float)random.NextDouble() * 2 - 1).ToArray();
        double dot = 0, l2 = 0;
        for (var i = 0; i < n; i++)
        {
            dot += a[i] * b[i];
            l2 += (a[i] - b[i]) * (a[i] - b[i]);
        }
        fixed (float* pa = a, pb = b)
        {
            Assert.Equal(dot, VectorMath.Dot(pa, pb, n), 1e-3);
            Assert.Equal(l2, VectorMath.L2Squared(pa, pb, n), 1e-3);
        }
    }

    [Theory]
    [InlineData(Distance.Euclid)]
    [InlineData(Distance.Cosine)]
    [InlineData(Distance.Dot)]
    public void Graph_search_finds_nearly_all_true_neighbours_on_clustered_data(Distance distance)
    {
        const int dim = 48, n = 4000, k = 10;
        var data = Clustered(n + 200, dim, clusters: 40, seed: 7);
        using var index = new HnswIndex(dim, distance, m: 12, efConstruction: 100);
        for (var i = 0; i < n; i++)
            index.Add(data[i]);

        var hits = 0;
        Span<int> exact = stackalloc int[k], approx = stackalloc int[k];
        Span<float> scores = stackalloc float[k];
        for (var q = n; q < n + 200; q++)
        {
            Assert.Equal(k, index.SearchExact(data[q], k, exact, scores));
            Assert.Equal(k, index.Search(data[q], k, 64, approx, scores));
            for (var i = 1; i < k; i++)
            {
                // closest first: similarities fall, Euclidean distances rise
                Assert.True(distance == Distance.Euclid ? scores[i] >= scores[i - 1] : scores[i] <= scores[i - 1]);
            }
            foreach (var id in approx)
            {
                if (exact.Contains(id))
                    hits++;
            }
        }
        var recall = hits / (200.0 * k);
        Assert.True(recall >= 0.95, $"recall@10 {recall:F3} at ef 64");
    }

    [Fact]
    public async Task Readers_search_while_the_writer_inserts()
    {
        const int dim = 32, n = 6000;
        var data = Clustered(n, dim, clusters: 20, seed: 3);
        using var index = new HnswIndex(dim, Distance.Cosine, m: 8, efConstruction: 60);
        for (var i = 0; i < 100; i++)
            index.Add(data[i]);

        using var done = new CancellationTokenSource();
        // The writer starts only once every reader is searching, so the searches overlap the inserts however the
        // machine schedules the tasks (on a busy 2-core box the inserts could otherwise finish first).
        using var searching = new CountdownEvent(3);
        var readers = Enumerable.Range(0, 3).Select(r => Task.Run(() =>
        {
            var ids = new int[10];
            var scores = new float[10];
            var random = new Random(r);
            var searches = 0;
            while (!done.IsCancellationRequested)
            {
                var found = index.Search(data[random.Next(n)], 10, 32, ids, scores);
                Assert.InRange(found, 1, 10);
                for (var i = 0; i < found; i++)
                    Assert.InRange(ids[i], 0, n - 1);
                if (searches++ == 0)
                    searching.Signal();
            }
            return searches;
        })).ToList();

        Assert.True(searching.Wait(TimeSpan.FromSeconds(30)), "the readers did not start");
        for (var i = 100; i < n; i++)
            index.Add(data[i]);
        await done.CancelAsync();
        var total = (await Task.WhenAll(readers)).Sum();
        Assert.True(total > 0);
        Assert.Equal(n, index.Count);
    }

    [Fact]
    public void Bad_vectors_are_refused_with_the_reason()
    {
        using var index = new HnswIndex(4, Distance.Cosine);
        Assert.Contains("3 dimensions", Assert.Throws<VectorStoreException>(() => index.Add([1, 2, 3])).Message);
        Assert.Contains("NaN", Assert.Throws<VectorStoreException>(() => index.Add([1, float.NaN, 3, 4])).Message);
        Assert.Contains("infinite", Assert.Throws<VectorStoreException>(() => index.Add([1, float.PositiveInfinity, 3, 4])).Message);
        Assert.Contains("all zeros", Assert.Throws<VectorStoreException>(() => index.Add([0, 0, 0, 0])).Message);
        Assert.Equal(0, index.Count);
    }

    /// <summary>Gaussian clusters: points near one of <paramref name="clusters"/> random centres.</summary>
    internal static float[][] Clustered(int n, int dim, int clusters, int seed)
    {
        var random = new Random(seed);
        float Gaussian() => (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));
        var centres = Enumerable.Range(0, clusters).Select(_ => Enumerable.Range(0, dim).Select(_ => Gaussian()).ToArray()).ToArray();
        return [.. Enumerable.Range(0, n).Select(_ =>
        {
            var c = centres[random.Next(clusters)];
            return c.Select(x => x + 0.5f * Gaussian()).ToArray();
        })];
    }
}
