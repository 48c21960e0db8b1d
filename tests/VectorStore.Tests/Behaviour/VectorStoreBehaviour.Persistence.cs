namespace Platform.VectorStore.Tests.Behaviour;

public abstract partial class VectorStoreBehaviour
{
    /// <summary>Two collections with replaced, partial and deleted points; returns what each should hold.</summary>
    private async Task<(string Main, string Small, Dictionary<string, VectorPoint> Expected)> WriteHistoryAsync()
    {
        var main = await NewCollectionAsync(Schema(("image", 12, Distance.Cosine), ("text", 8, Distance.Dot)));
        var small = await NewCollectionAsync(Schema(("geo", 2, Distance.Euclid)));
        var rng = new Random(300);
        var expected = new Dictionary<string, VectorPoint>();
        for (var start = 0; start < 1500; start += 100)
        {
            var batch = Enumerable.Range(start, 100).Select(i => i % 7 == 0
                ? Point($"m{i:D4}", $$"""{"i":{{i}},"kind":"text-only"}""", ("text", VectorMath.Gaussian(rng, 8)))
                : Point($"m{i:D4}", $$"""{"i":{{i}},"tags":["x{{i % 3}}"]}""", ("image", VectorMath.Gaussian(rng, 12)), ("text", VectorMath.Gaussian(rng, 8)))).ToList();
            await Store.UpsertAsync(main, batch);
            batch.ForEach(p => expected[p.Id] = p);
        }
        var replaced = Enumerable.Range(0, 1500).Where(i => i % 11 == 3).Select(i => Point($"m{i:D4}", $$"""{"i":{{i}},"replaced":true}""", ("image", VectorMath.Gaussian(rng, 12)))).ToList();
        await Store.UpsertAsync(main, replaced);
        replaced.ForEach(p => expected[p.Id] = p);
        var deleted = Enumerable.Range(0, 1500).Where(i => i % 13 == 5).Select(i => $"m{i:D4}").ToList();
        await Store.DeleteAsync(main, deleted);
        deleted.ForEach(id => expected.Remove(id));
        await Store.DeleteAsync(main, Filter.All(new MatchKeyword("tags", "x2"), new Range("i", Lt: 300)));
        foreach (var id in expected.Where(kv => kv.Value.Payload.Contains("\"x2\"", StringComparison.Ordinal) && int.Parse(kv.Key.AsSpan(1)) < 300).Select(kv => kv.Key).ToList())
            expected.Remove(id);
        await Store.UpsertAsync(small, [Point("g1", [1f, 2f], "geo"), Point("g2", [3f, 4f], "geo")]);
        await Store.DeleteAsync(small, ["g1"]);
        return (main, small, expected);
    }

    private async Task AssertHoldsExactlyAsync(string collection, Dictionary<string, VectorPoint> expected, CollectionSchema schema)
    {
        Assert.Equal(expected.Count, await Store.CountAsync(collection));
        var all = await ScrollAllAsync(collection, withVectors: true);
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), all.Select(p => p.Id).Order(StringComparer.Ordinal));
        foreach (var point in all)
        {
            var want = expected[point.Id];
            var stored = want.Vectors.ToDictionary(kv => kv.Key, kv => AsStored(schema.Vectors[kv.Key].Distance, kv.Value));
            AssertVectorsEqual(stored, point.Vectors, point.Id, 1e-6f);
            Payloads.AssertSame(want.Payload, point.Payload, point.Id);
        }
    }

    [Fact]
    public async Task A_reopened_store_holds_the_same_collections_points_and_exact_search_results()
    {
        var (main, small, expected) = await WriteHistoryAsync();
        var schema = (await Store.GetCollectionAsync(main))!;
        var rng = new Random(301);
        var queries = Enumerable.Range(0, 10).Select(_ => VectorMath.Gaussian(rng, 12)).ToList();
        var before = new List<IReadOnlyList<ScoredPoint>>();
        foreach (var q in queries)
            before.Add(await Store.SearchAsync(main, new SearchRequest("image", q, 10) { Exact = true, Filter = Filter.None(new MatchBool("replaced", true)) }));

        ReopenStore();

        Assert.Contains(main, await Store.ListCollectionsAsync());
        Assert.True((await Store.GetCollectionAsync(main))!.SameAs(schema));
        Assert.True((await Store.GetCollectionAsync(small))!.SameAs(Schema(("geo", 2, Distance.Euclid))));
        await AssertHoldsExactlyAsync(main, expected, schema);
        Assert.Equal(["g2"], (await ScrollAllAsync(small)).Select(p => p.Id));
        for (var i = 0; i < queries.Count; i++)
        {
            var after = await Store.SearchAsync(main, new SearchRequest("image", queries[i], 10) { Exact = true, Filter = Filter.None(new MatchBool("replaced", true)) });
            Assert.Equal(before[i].Select(h => h.Id), after.Select(h => h.Id));
            Assert.Equal(before[i].Select(h => h.Score), after.Select(h => h.Score));
        }
    }

    [Fact]
    public async Task A_reopened_store_gives_the_same_approximate_search_results()
    {
        var (main, _, _) = await WriteHistoryAsync();
        var rng = new Random(302);
        var queries = Enumerable.Range(0, 20).Select(_ => VectorMath.Gaussian(rng, 12)).ToList();
        var before = new List<IReadOnlyList<ScoredPoint>>();
        foreach (var q in queries)
            before.Add(await Store.SearchAsync(main, new SearchRequest("image", q, 10)));

        ReopenStore();

        for (var i = 0; i < queries.Count; i++)
        {
            var after = await Store.SearchAsync(main, new SearchRequest("image", queries[i], 10));
            Assert.True(before[i].Select(h => h.Id).SequenceEqual(after.Select(h => h.Id)), $"query {i}: before reopening {Ids(before[i])}, after {Ids(after)}");
        }
    }

    [Fact]
    public async Task A_reopened_store_accepts_writes_and_keeps_them_through_another_reopen()
    {
        var (main, small, expected) = await WriteHistoryAsync();
        var schema = (await Store.GetCollectionAsync(main))!;

        ReopenStore();
        var more = Enumerable.Range(0, 50).Select(i => Point($"after-{i}", $$"""{"after":{{i}}}""", ("text", Filled(8, i + 1f)))).ToList();
        await Store.UpsertAsync(main, more);
        more.ForEach(p => expected[p.Id] = p);
        var gone = expected.Keys.First(k => k.StartsWith('m'));
        await Store.DeleteAsync(main, [gone]);
        expected.Remove(gone);
        Assert.True(await Store.DeleteCollectionAsync(small));
        ReopenStore();

        await AssertHoldsExactlyAsync(main, expected, schema);
        Assert.DoesNotContain(small, await Store.ListCollectionsAsync());
        Assert.Null(await Store.GetCollectionAsync(small));
    }

    [Fact]
    public async Task A_collection_recreated_with_another_schema_is_the_new_one_after_reopening()
    {
        var c = await NewCollectionAsync(Schema(("v", 3, Distance.Dot)));
        await Store.UpsertAsync(c, [Point("old", [1f, 2f, 3f])]);
        await Store.DeleteCollectionAsync(c);
        await Store.CreateCollectionAsync(c, Schema(("v", 2, Distance.Euclid)));
        await Store.UpsertAsync(c, [Point("new", [1f, 2f])]);

        ReopenStore();

        Assert.True((await Store.GetCollectionAsync(c))!.SameAs(Schema(("v", 2, Distance.Euclid))));
        Assert.Equal(["new"], (await ScrollAllAsync(c)).Select(p => p.Id));
    }
}
