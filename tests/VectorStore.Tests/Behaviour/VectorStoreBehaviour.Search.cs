namespace Platform.VectorStore.Tests.Behaviour;

public abstract partial class VectorStoreBehaviour
{
    public static TheoryData<Distance> Distances => [Distance.Cosine, Distance.Dot, Distance.Euclid];

    /// <summary>A collection with one vector "v" of this distance and <paramref name="count"/> random points "p0000".. with payload {"i": i}.</summary>
    private async Task<(string Collection, List<(string Id, float[] Vector)> Points)> RandomCollectionAsync(Distance distance, int count, int dimension, int seed)
    {
        var c = await NewCollectionAsync(Schema(("v", dimension, distance)));
        var rng = new Random(seed);
        var points = Enumerable.Range(0, count).Select(i => ($"p{i:D4}", VectorMath.Gaussian(rng, dimension))).ToList();
        foreach (var chunk in points.Chunk(500))
            await Store.UpsertAsync(c, [.. chunk.Select(p => Point(p.Item1, p.Item2, payload: $$"""{"i":{{int.Parse(p.Item1.AsSpan(1))}}}"""))]);
        return (c, points);
    }

    [Fact]
    public async Task Cosine_scores_are_cosine_similarities_and_vectors_are_kept_normalised()
    {
        var c = await NewCollectionAsync(Schema(("v", 3, Distance.Cosine)));
        float[] a = [3, 4, 0], b = [0, 0, -10], d = [1, 1, 1];
        await Store.UpsertAsync(c, [Point("a", a), Point("b", b), Point("d", d)]);
        float[] query = [6, 8, 1];

        var hits = await Store.SearchAsync(c, new SearchRequest("v", query, 3) { Exact = true });

        Assert.Equal(["a", "d", "b"], hits.Select(h => h.Id));
        Assert.Equal(VectorMath.Score(Distance.Cosine, query, a), hits[0].Score, 1e-5);
        Assert.Equal(VectorMath.Score(Distance.Cosine, query, d), hits[1].Score, 1e-5);
        Assert.Equal(VectorMath.Score(Distance.Cosine, query, b), hits[2].Score, 1e-5);
        var stored = Assert.Single(await Store.GetAsync(c, ["a"], withVectors: true));
        AssertVectorsEqual(new Dictionary<string, float[]> { ["v"] = [0.6f, 0.8f, 0f] }, stored.Vectors, "a (normalised on the way in)", 1e-6f);
        var approximate = await Store.SearchAsync(c, new SearchRequest("v", query, 3));
        Assert.Equal(hits.Select(h => h.Id), approximate.Select(h => h.Id));
    }

    [Fact]
    public async Task Dot_scores_are_raw_dot_products()
    {
        var c = await NewCollectionAsync(Schema(("v", 3, Distance.Dot)));
        float[] a = [3, 4, 0], b = [0, 0, -10], d = [10, 10, 10];
        await Store.UpsertAsync(c, [Point("a", a), Point("b", b), Point("d", d)]);
        float[] query = [6, 8, 1];

        var hits = await Store.SearchAsync(c, new SearchRequest("v", query, 3) { Exact = true });

        Assert.Equal(["d", "a", "b"], hits.Select(h => h.Id));
        Assert.Equal([150f, 50f, -10f], hits.Select(h => h.Score));
        var stored = Assert.Single(await Store.GetAsync(c, ["d"], withVectors: true));
        Assert.Equal(d, stored.Vectors["v"]);
    }

    [Fact]
    public async Task Euclid_scores_are_distances_and_the_nearest_come_first()
    {
        var c = await NewCollectionAsync(Schema(("v", 2, Distance.Euclid)));
        await Store.UpsertAsync(c, [Point("far", [10f, 0f]), Point("near", [1f, 1f]), Point("mid", [4f, 6f]), Point("same", [1f, 2f])]);

        var hits = await Store.SearchAsync(c, new SearchRequest("v", new float[] { 1, 2 }, 4) { Exact = true });

        Assert.Equal(["same", "near", "mid", "far"], hits.Select(h => h.Id));
        Assert.Equal(0f, hits[0].Score, 1e-6f);
        Assert.Equal(1f, hits[1].Score, 1e-5f);
        Assert.Equal(5f, hits[2].Score, 1e-5f);
        Assert.Equal((float)Math.Sqrt(85), hits[3].Score, 1e-4f);
    }

    [Theory]
    [MemberData(nameof(Distances))]
    public async Task Exact_search_equals_brute_force(Distance distance)
    {
        var (c, points) = await RandomCollectionAsync(distance, 2000, 24, seed: 1 + (int)distance);
        var rng = new Random(99);

        for (var q = 0; q < 20; q++)
        {
            var query = VectorMath.Gaussian(rng, 24);
            var truth = VectorMath.Rank(distance, points, query).Take(10).ToList();

            var hits = await Store.SearchAsync(c, new SearchRequest("v", query, 10) { Exact = true });

            Assert.True(truth.Select(t => t.Id).SequenceEqual(hits.Select(h => h.Id)), $"query {q}: expected {Ids(truth.Select(t => t.Id))}, got {Ids(hits)}");
            for (var i = 0; i < hits.Count; i++)
                Assert.True(Math.Abs(hits[i].Score - truth[i].Score) <= 1e-4 * Math.Max(1, Math.Abs(truth[i].Score)), $"query {q} #{i}: score {hits[i].Score}, brute force {truth[i].Score}");
        }
    }

    [Theory]
    [MemberData(nameof(Distances))]
    public async Task Approximate_search_has_recall_at_10_of_at_least_0_95(Distance distance)
    {
        var (c, points) = await RandomCollectionAsync(distance, 2500, 32, seed: 10 + (int)distance);
        var rng = new Random(5);
        int found = 0, wanted = 0;
        var vectors = points.ToDictionary(p => p.Id, p => p.Vector);

        for (var q = 0; q < 50; q++)
        {
            var query = VectorMath.Gaussian(rng, 32);
            var truth = VectorMath.Rank(distance, points, query).Take(10).Select(t => t.Id).ToHashSet();

            var hits = await Store.SearchAsync(c, new SearchRequest("v", query, 10));

            Assert.Equal(10, hits.Count);
            AssertClosestFirst(distance, hits);
            foreach (var hit in hits)
            {
                // Approximate in which points it finds, exact in what it says about them.
                var score = VectorMath.Score(distance, query, vectors[hit.Id]);
                Assert.True(Math.Abs(hit.Score - score) <= 1e-4 * Math.Max(1, Math.Abs(score)), $"{hit.Id}: score {hit.Score}, brute force {score}");
            }
            found += hits.Count(h => truth.Contains(h.Id));
            wanted += truth.Count;
        }

        var recall = (double)found / wanted;
        Assert.True(recall >= 0.95, $"recall@10 {recall:F3} < 0.95 ({distance}, 2500 points, 32-d)");
    }

    [Theory]
    [MemberData(nameof(Distances))]
    public async Task A_larger_ef_gives_recall_at_10_of_at_least_0_99(Distance distance)
    {
        var (c, points) = await RandomCollectionAsync(distance, 2500, 32, seed: 20 + (int)distance);
        var rng = new Random(6);
        int found = 0, wanted = 0;

        for (var q = 0; q < 30; q++)
        {
            var query = VectorMath.Gaussian(rng, 32);
            var truth = VectorMath.Rank(distance, points, query).Take(10).Select(t => t.Id).ToHashSet();
            var hits = await Store.SearchAsync(c, new SearchRequest("v", query, 10) { Ef = 400 });
            found += hits.Count(h => truth.Contains(h.Id));
            wanted += truth.Count;
        }

        var recall = (double)found / wanted;
        Assert.True(recall >= 0.99, $"recall@10 with ef 400 {recall:F3} < 0.99 ({distance})");
    }

    [Fact]
    public async Task Limit_caps_the_hits_and_a_small_collection_gives_all_it_has()
    {
        var (c, points) = await RandomCollectionAsync(Distance.Cosine, 30, 8, seed: 3);
        var query = VectorMath.Gaussian(new Random(1), 8);

        Assert.Equal(3, (await Store.SearchAsync(c, new SearchRequest("v", query, 3))).Count);
        Assert.Single(await Store.SearchAsync(c, new SearchRequest("v", query, 1)));
        var all = await Store.SearchAsync(c, new SearchRequest("v", query, 10_000));
        Assert.Equal(30, all.Count);
        Assert.Equal(VectorMath.Rank(Distance.Cosine, points, query).Select(t => t.Id), all.Select(h => h.Id));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Offset_pages_through_the_ranking(bool exact)
    {
        var (c, points) = await RandomCollectionAsync(Distance.Dot, 300, 8, seed: 4);
        var query = VectorMath.Gaussian(new Random(2), 8);
        var truth = VectorMath.Rank(Distance.Dot, points, query).Select(t => t.Id).ToList();

        var pages = new List<ScoredPoint>();
        for (var offset = 0; offset < 30; offset += 6)
            pages.AddRange(await Store.SearchAsync(c, new SearchRequest("v", query, 6) { Offset = offset, Exact = exact, Ef = 300 }));

        Assert.Equal(truth.Take(30), pages.Select(h => h.Id));
        var beyond = await Store.SearchAsync(c, new SearchRequest("v", query, 10) { Offset = 295, Exact = exact, Ef = 300 });
        Assert.Equal(truth.Skip(295), beyond.Select(h => h.Id));
        Assert.Empty(await Store.SearchAsync(c, new SearchRequest("v", query, 10) { Offset = 300, Exact = true }));
    }

    [Theory]
    [MemberData(nameof(Distances))]
    public async Task A_score_threshold_keeps_exactly_the_hits_at_least_that_close(Distance distance)
    {
        var (c, points) = await RandomCollectionAsync(distance, 400, 8, seed: 30 + (int)distance);
        var rng = new Random(8);

        for (var q = 0; q < 5; q++)
        {
            var query = VectorMath.Gaussian(rng, 8);
            var ranked = VectorMath.Rank(distance, points, query);
            // Halfway across the widest gap between the 20th..30th closest, so rounding cannot move a point across it.
            var within = Enumerable.Range(20, 11).MaxBy(k => Math.Abs(ranked[k - 1].Score - ranked[k].Score));
            var threshold = (float)((ranked[within - 1].Score + ranked[within].Score) / 2);

            var exact = await Store.SearchAsync(c, new SearchRequest("v", query, 100) { ScoreThreshold = threshold, Exact = true });
            var approximate = await Store.SearchAsync(c, new SearchRequest("v", query, 100) { ScoreThreshold = threshold, Ef = 400 });
            var limited = await Store.SearchAsync(c, new SearchRequest("v", query, 10) { ScoreThreshold = threshold, Exact = true });

            Assert.Equal(ranked.Take(within).Select(t => t.Id), exact.Select(h => h.Id));
            Assert.All(approximate, h => Assert.True(VectorMath.AtLeastAsClose(distance, h.Score, threshold), $"{h.Id} scores {h.Score}, beyond the threshold {threshold}"));
            Assert.True(approximate.Count >= within - 2, $"only {approximate.Count} of the {within} points within the threshold were found");
            Assert.Equal(ranked.Take(10).Select(t => t.Id), limited.Select(h => h.Id));
        }
    }

    [Fact]
    public async Task Payload_and_vectors_come_with_hits_only_when_asked()
    {
        var c = await NewCollectionAsync(TwoSpaces);
        await Store.UpsertAsync(c, [
            Point("a", """{"title":"lamp"}""", ("image", [0f, 2f, 0f, 0f]), ("text", [1f, 2f, 3f])),
            Point("b", """{"title":"desk"}""", ("image", [0f, 0f, 1f, 0f])),
        ]);
        float[] query = [0, 1, 0.5f, 0];

        var plain = await Store.SearchAsync(c, new SearchRequest("image", query, 2));
        var bare = await Store.SearchAsync(c, new SearchRequest("image", query, 2) { WithPayload = false });
        var full = await Store.SearchAsync(c, new SearchRequest("image", query, 2) { WithVectors = true });

        Assert.Equal(["a", "b"], plain.Select(h => h.Id));
        Payloads.AssertSame("""{"title":"lamp"}""", plain[0].Payload);
        Payloads.AssertSame("""{"title":"desk"}""", plain[1].Payload);
        Assert.All(plain, h => Assert.Null(h.Vectors));
        Assert.All(bare, h => Assert.Null(h.Payload));
        Assert.All(bare, h => Assert.Null(h.Vectors));
        Assert.Equal(plain.Select(h => h.Score), bare.Select(h => h.Score));
        // Every named vector of the hit comes back, not only the one searched.
        AssertVectorsEqual(new Dictionary<string, float[]> { ["image"] = [0f, 1f, 0f, 0f], ["text"] = [1f, 2f, 3f] }, full[0].Vectors, "a", 1e-6f);
        AssertVectorsEqual(new Dictionary<string, float[]> { ["image"] = [0f, 0f, 1f, 0f] }, full[1].Vectors, "b", 1e-6f);
        Payloads.AssertSame("""{"title":"lamp"}""", full[0].Payload);
    }

    [Fact]
    public async Task Searching_an_empty_collection_finds_nothing()
    {
        var c = await NewCollectionAsync(TwoSpaces);

        Assert.Empty(await Store.SearchAsync(c, new SearchRequest("image", new float[] { 1, 0, 0, 0 }, 10)));
        Assert.Empty(await Store.SearchAsync(c, new SearchRequest("image", new float[] { 1, 0, 0, 0 }, 10) { Exact = true }));

        await Store.UpsertAsync(c, [Point("t", "{}", ("text", [1f, 1f, 1f]))]);
        Assert.Empty(await Store.SearchAsync(c, new SearchRequest("image", new float[] { 1, 0, 0, 0 }, 10)));
    }

    [Fact]
    public async Task Each_named_vector_is_searched_with_its_own_distance()
    {
        var c = await NewCollectionAsync(Schema(("cos", 2, Distance.Cosine), ("dot", 2, Distance.Dot), ("l2", 2, Distance.Euclid)));
        // Same vectors in every space: the three distances rank them differently.
        float[] small = [1, 0], big = [10, 10], close = [2.2f, 0.2f];
        await Store.UpsertAsync(c, [.. new[] { ("small", small), ("big", big), ("close", close) }.Select(p => Point(p.Item1, "{}", ("cos", p.Item2), ("dot", p.Item2), ("l2", p.Item2)))]);
        float[] query = [2, 0];

        Assert.Equal(["small", "close", "big"], (await Store.SearchAsync(c, new SearchRequest("cos", query, 3) { Exact = true })).Select(h => h.Id));
        Assert.Equal(["big", "close", "small"], (await Store.SearchAsync(c, new SearchRequest("dot", query, 3) { Exact = true })).Select(h => h.Id));
        Assert.Equal(["close", "small", "big"], (await Store.SearchAsync(c, new SearchRequest("l2", query, 3) { Exact = true })).Select(h => h.Id));
    }

    [Fact]
    public async Task Search_after_replaces_and_deletes_matches_brute_force_over_what_is_left()
    {
        const int dimension = 16;
        var (c, points) = await RandomCollectionAsync(Distance.Cosine, 1500, dimension, seed: 40);
        var rng = new Random(41);
        var current = points.ToDictionary(p => p.Id, p => p.Vector);
        var replaced = points.Where((_, i) => i % 3 == 1).Select(p => p.Id).ToList();
        var deleted = points.Where((_, i) => i % 5 == 2).Select(p => p.Id).ToHashSet();
        foreach (var chunk in replaced.Chunk(100))
        {
            var batch = chunk.Select(id => Point(id, VectorMath.Gaussian(rng, dimension))).ToList();
            await Store.UpsertAsync(c, batch);
            foreach (var p in batch)
                current[p.Id] = p.Vectors["v"];
        }
        await Store.DeleteAsync(c, deleted.ToList());
        foreach (var id in deleted)
            current.Remove(id);
        var remaining = current.Select(kv => (kv.Key, kv.Value)).ToList();

        int found = 0, wanted = 0;
        for (var q = 0; q < 40; q++)
        {
            var query = VectorMath.Gaussian(rng, dimension);
            var truth = VectorMath.Rank(Distance.Cosine, remaining, query).Take(10).ToList();
            var hits = await Store.SearchAsync(c, new SearchRequest("v", query, 10));
            var exact = await Store.SearchAsync(c, new SearchRequest("v", query, 10) { Exact = true });

            Assert.DoesNotContain(hits, h => deleted.Contains(h.Id));
            Assert.Equal(truth.Select(t => t.Id), exact.Select(h => h.Id));
            foreach (var hit in hits)
                Assert.Equal(VectorMath.Score(Distance.Cosine, query, current[hit.Id]), hit.Score, 1e-4);
            found += hits.Count(h => truth.Any(t => t.Id == h.Id));
            wanted += truth.Count;
        }
        var recall = (double)found / wanted;
        Assert.True(recall >= 0.95, $"recall@10 after replaces and deletes {recall:F3} < 0.95");
    }

    public static TheoryData<string> Selectivities => ["1%", "0.1%"];

    [Theory]
    [MemberData(nameof(Selectivities))]
    public async Task Search_with_a_very_selective_filter_equals_filtered_brute_force(string selectivity)
    {
        const int count = 5000, dimension = 16;
        var c = await NewCollectionAsync(Schema(("v", dimension, Distance.Cosine)));
        var rng = new Random(50);
        var points = Enumerable.Range(0, count).Select(i => (Id: $"p{i:D4}", Vector: VectorMath.Gaussian(rng, dimension), Bucket: i * 7919 % 1000)).ToList();
        foreach (var chunk in points.Chunk(500))
            await Store.UpsertAsync(c, [.. chunk.Select(p => Point(p.Id, p.Vector, payload: $$"""{"bucket":{{p.Bucket}},"tag":"b{{p.Bucket}}"}"""))]);
        // 1%: buckets 0..9 (50 points); 0.1%: bucket 7 (5 points).
        var (filter, matches) = selectivity == "1%"
            ? (Filter.All(new Range("bucket", Lt: 10)), (Func<int, bool>)(b => b < 10))
            : (Filter.All(new MatchKeyword("tag", "b7")), b => b == 7);
        var candidates = points.Where(p => matches(p.Bucket)).Select(p => (p.Id, p.Vector)).ToList();
        Assert.Equal(selectivity == "1%" ? 50 : 5, candidates.Count);

        for (var q = 0; q < 10; q++)
        {
            var query = VectorMath.Gaussian(rng, dimension);
            var truth = VectorMath.Rank(Distance.Cosine, candidates, query).Take(10).ToList();

            var hits = await Store.SearchAsync(c, new SearchRequest("v", query, 10) { Filter = filter });
            var exact = await Store.SearchAsync(c, new SearchRequest("v", query, 10) { Filter = filter, Exact = true });

            Assert.True(truth.Select(t => t.Id).SequenceEqual(hits.Select(h => h.Id)), $"query {q} ({selectivity}): expected {Ids(truth.Select(t => t.Id))}, got {Ids(hits)}");
            Assert.True(truth.Select(t => t.Id).SequenceEqual(exact.Select(h => h.Id)), $"query {q} ({selectivity}, exact): expected {Ids(truth.Select(t => t.Id))}, got {Ids(exact)}");
        }
        Assert.Equal(candidates.Count, await Store.CountAsync(c, filter));
    }
}
