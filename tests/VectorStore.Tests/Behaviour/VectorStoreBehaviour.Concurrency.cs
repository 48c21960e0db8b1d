using System.Collections.Concurrent;
using System.Text.Json.Nodes;

namespace Platform.VectorStore.Tests.Behaviour;

public abstract partial class VectorStoreBehaviour
{
    /// <summary>A hang guard, not a timing assertion: long enough for any sane store on a slow machine.</summary>
    private static CancellationTokenSource Guard() => new(TimeSpan.FromMinutes(5));

    [Fact]
    public async Task Readers_searching_while_a_writer_upserts_always_see_consistent_results()
    {
        const int count = 3000, dimension = 16;
        var c = await NewCollectionAsync(Schema(("v", dimension, Distance.Cosine)));
        var rng = new Random(200);
        var vectors = Enumerable.Range(0, count).Select(_ => VectorMath.Gaussian(rng, dimension)).ToArray();
        var queries = Enumerable.Range(0, 64).Select(_ => VectorMath.Gaussian(rng, dimension)).ToArray();
        using var guard = Guard();
        var writerDone = false;

        var writer = Task.Run(async () =>
        {
            try
            {
                for (var start = 0; start < count; start += 50)
                    await Store.UpsertAsync(c, [.. Enumerable.Range(start, 50).Select(i => Point($"w{i:D5}", vectors[i], payload: $$"""{"i":{{i}}}"""))]);
            }
            finally
            {
                Volatile.Write(ref writerDone, true);
            }
        });
        var readers = Enumerable.Range(0, 4).Select(r => Task.Run(async () =>
        {
            long lastCount = 0;
            var reads = 0;
            while (!Volatile.Read(ref writerDone) || reads < 5)
            {
                guard.Token.ThrowIfCancellationRequested();
                var query = queries[(r * 17 + reads) % queries.Length];
                var request = new SearchRequest("v", query, 20) { Exact = reads % 3 == 2, WithVectors = reads % 2 == 0 };
                var hits = await Store.SearchAsync(c, request);
                AssertClosestFirst(Distance.Cosine, hits);
                foreach (var hit in hits)
                {
                    var known = hit.Id.Length == 6 && hit.Id[0] == 'w' && int.TryParse(hit.Id.AsSpan(1), out var parsed) && parsed is >= 0 and < count;
                    Assert.True(known, $"a hit with an id never written: {hit.Id}");
                    var i = int.Parse(hit.Id.AsSpan(1));
                    Assert.Equal(VectorMath.Score(Distance.Cosine, query, vectors[i]), hit.Score, 1e-4);
                    Payloads.AssertSame($$"""{"i":{{i}}}""", hit.Payload, hit.Id);
                    if (request.WithVectors)
                        AssertVectorsEqual(new Dictionary<string, float[]> { ["v"] = VectorMath.Normalise(vectors[i]) }, hit.Vectors, hit.Id, 1e-5f);
                }
                var now = await Store.CountAsync(c);
                Assert.True(now >= lastCount, $"the count went down from {lastCount} to {now} while only upserts ran");
                lastCount = now;
                reads++;
            }
        })).ToList();

        await Task.WhenAll([writer, .. readers]);

        Assert.Equal(count, await Store.CountAsync(c));
        var exactHits = await Store.SearchAsync(c, new SearchRequest("v", queries[0], 10) { Exact = true });
        var indexed = Enumerable.Range(0, count).Select(i => ($"w{i:D5}", vectors[i]));
        Assert.Equal(VectorMath.Rank(Distance.Cosine, indexed, queries[0]).Take(10).Select(t => t.Item1), exactHits.Select(h => h.Id));
    }

    [Fact]
    public async Task Concurrent_writers_of_different_points_all_land()
    {
        var c = await NewCollectionAsync(Schema(("v", 8, Distance.Dot)));
        var rng = new Random(210);
        var vectors = Enumerable.Range(0, 2000).Select(_ => VectorMath.Gaussian(rng, 8)).ToArray();

        await Task.WhenAll(Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            for (var start = w * 500; start < (w + 1) * 500; start += 25)
                await Store.UpsertAsync(c, [.. Enumerable.Range(start, 25).Select(i => Point($"c{i:D4}", vectors[i], payload: $$"""{"writer":{{w}}}"""))]);
        })));

        Assert.Equal(2000, await Store.CountAsync(c));
        Assert.Equal(500, await Store.CountAsync(c, Filter.All(new MatchInteger("writer", 2))));
        var all = await ScrollAllAsync(c, withVectors: true);
        Assert.Equal(Enumerable.Range(0, 2000).Select(i => $"c{i:D4}"), all.Select(p => p.Id).Order(StringComparer.Ordinal));
        Assert.All(all, p => Assert.Equal(vectors[int.Parse(p.Id.AsSpan(1))], p.Vectors["v"]));
    }

    [Fact]
    public async Task A_point_rewritten_concurrently_is_always_one_whole_version()
    {
        var c = await NewCollectionAsync(Schema(("a", 4, Distance.Dot), ("b", 4, Distance.Euclid)));
        await Store.UpsertAsync(c, [Point("hot", """{"k":0}""", ("a", Filled(4, 0)), ("b", Filled(4, 0)))]);
        using var guard = Guard();
        var done = false;

        var writers = Enumerable.Range(0, 3).Select(w => Task.Run(async () =>
        {
            for (var n = 1; n <= 150; n++)
            {
                var k = n * 3 + w;
                // Odd versions carry only "a": a reader must never see "b" with an odd version's payload.
                var point = k % 2 == 1
                    ? Point("hot", $$"""{"k":{{k}}}""", ("a", Filled(4, k)))
                    : Point("hot", $$"""{"k":{{k}}}""", ("a", Filled(4, k)), ("b", Filled(4, -k)));
                await Store.UpsertAsync(c, [point]);
            }
        })).ToList();
        var reader = Task.Run(async () =>
        {
            while (!Volatile.Read(ref done))
            {
                guard.Token.ThrowIfCancellationRequested();
                var gets = await Store.GetAsync(c, ["hot"], withVectors: true);
                Assert.True(gets.Count == 1, $"get of 'hot' while it is being replaced returned {gets.Count} points; it always exists");
                var got = gets[0];
                var k = (int)JsonNode.Parse(got.Payload)!["k"]!;
                Assert.Equal(Filled(4, k), got.Vectors["a"]);
                if (k % 2 == 1)
                    Assert.False(got.Vectors.ContainsKey("b"), $"version {k} has a 'b' vector left from another version");
                else
                    Assert.Equal(Filled(4, -k), got.Vectors["b"]);
                foreach (var exact in new[] { false, true })
                {
                    var hits = await Store.SearchAsync(c, new SearchRequest("a", Filled(4, 1), 1) { Exact = exact });
                    Assert.True(hits.Count == 1 && hits[0].Id == "hot",
                        $"{(exact ? "exact" : "approximate")} search while 'hot' is being replaced returned {Ids(hits)}; it always exists, the only point");
                }
            }
        });

        await Task.WhenAll(writers);
        Volatile.Write(ref done, true);
        await reader;
        Assert.Equal(1, await Store.CountAsync(c));
    }

    [Fact]
    public async Task Searches_never_return_points_whose_delete_has_completed()
    {
        const int count = 1200, dimension = 8;
        var c = await NewCollectionAsync(Schema(("v", dimension, Distance.Euclid)));
        var rng = new Random(220);
        var vectors = Enumerable.Range(0, count).Select(_ => VectorMath.Gaussian(rng, dimension)).ToArray();
        foreach (var chunk in Enumerable.Range(0, count).Chunk(300))
            await Store.UpsertAsync(c, [.. chunk.Select(i => Point($"d{i:D4}", vectors[i]))]);
        var order = Enumerable.Range(0, count).OrderBy(_ => rng.Next()).Take(1000).ToArray();
        var deleted = new ConcurrentDictionary<string, bool>();
        using var guard = Guard();
        var done = false;

        var deleter = Task.Run(async () =>
        {
            try
            {
                foreach (var chunk in order.Chunk(20))
                {
                    var ids = chunk.Select(i => $"d{i:D4}").ToList();
                    await Store.DeleteAsync(c, ids);
                    foreach (var id in ids)
                        deleted[id] = true;
                }
            }
            finally
            {
                Volatile.Write(ref done, true);
            }
        });
        var readers = Enumerable.Range(0, 3).Select(r => Task.Run(async () =>
        {
            var qrng = new Random(230 + r);
            while (!Volatile.Read(ref done))
            {
                guard.Token.ThrowIfCancellationRequested();
                var gone = deleted.Keys.ToHashSet();
                var hits = await Store.SearchAsync(c, new SearchRequest("v", VectorMath.Gaussian(qrng, dimension), 50) { Exact = qrng.Next(2) == 0 });
                AssertClosestFirst(Distance.Euclid, hits);
                var stale = hits.FirstOrDefault(h => gone.Contains(h.Id));
                Assert.True(stale is null, $"{stale?.Id} was returned after its delete completed");
                Assert.True(await Store.CountAsync(c) <= count - gone.Count, "the count includes points whose delete completed");
            }
        })).ToList();

        await Task.WhenAll([deleter, .. readers]);

        Assert.Equal(count - 1000, await Store.CountAsync(c));
        var left = Enumerable.Range(0, count).Except(order).Select(i => ($"d{i:D4}", vectors[i])).ToList();
        var query = VectorMath.Gaussian(rng, dimension);
        var hitsAfter = await Store.SearchAsync(c, new SearchRequest("v", query, 200));
        Assert.Equal(VectorMath.Rank(Distance.Euclid, left, query).Select(t => t.Item1).Order(StringComparer.Ordinal), hitsAfter.Select(h => h.Id).Order(StringComparer.Ordinal));

        // Re-upserting deleted points brings them back.
        await Store.UpsertAsync(c, [.. order.Take(100).Select(i => Point($"d{i:D4}", vectors[i]))]);
        Assert.Equal(count - 900, await Store.CountAsync(c));
        var back = await Store.SearchAsync(c, new SearchRequest("v", vectors[order[0]], 1));
        Assert.Equal($"d{order[0]:D4}", back.Single().Id);
    }
}
