namespace Platform.VectorStore.Tests.Behaviour;

public abstract partial class VectorStoreBehaviour
{
    /// <summary>image: cosine 4-d; text: dot 3-d.</summary>
    private static readonly CollectionSchema TwoSpaces = Schema(("image", 4, Distance.Cosine), ("text", 3, Distance.Dot));

    [Fact]
    public async Task Upserted_points_come_back_with_their_vectors_and_payloads()
    {
        var c = await NewCollectionAsync(TwoSpaces);
        var points = new List<VectorPoint>
        {
            Point("a", """{"title":"red shoe","price":12.5}""", ("image", [0.5f, 0.5f, 0.5f, 0.5f]), ("text", [1f, -2f, 3f])),
            Point("b", """{"title":"blue hat"}""", ("image", [1f, 0f, 0f, 0f]), ("text", [0.25f, 0f, -7.5f])),
            Point("c", "{}", ("text", [3f, 2f, 1f])),
        };

        await Store.UpsertAsync(c, points);

        Assert.Equal(3, await Store.CountAsync(c));
        var got = await Store.GetAsync(c, ["a", "b", "c"], withVectors: true);
        Assert.Equal(["a", "b", "c"], got.Select(p => p.Id));
        for (var i = 0; i < points.Count; i++)
        {
            // These image vectors are unit length already, so normalising keeps them (to rounding).
            AssertVectorsEqual(points[i].Vectors, got[i].Vectors, points[i].Id, tolerance: 1e-6f);
            Payloads.AssertSame(points[i].Payload, got[i].Payload, points[i].Id);
        }
        // Dot vectors are stored as given, bit for bit.
        Assert.Equal([1f, -2f, 3f], got[0].Vectors["text"]);
        Assert.Equal([0.25f, 0f, -7.5f], got[1].Vectors["text"]);
    }

    [Fact]
    public async Task Get_returns_points_in_the_order_asked_and_skips_missing_ids()
    {
        var c = await NewCollectionAsync(TwoSpaces);
        await Store.UpsertAsync(c, [.. new[] { "p1", "p2", "p3", "p4" }.Select((id, i) => Point(id, $$"""{"i":{{i}}}""", ("text", [i, 1f, 2f])))]);

        var got = await Store.GetAsync(c, ["p3", "nope", "p1", "p4", "missing-too"]);

        Assert.Equal(["p3", "p1", "p4"], got.Select(p => p.Id));
        Payloads.AssertSame("""{"i":2}""", got[0].Payload);
        Payloads.AssertSame("""{"i":0}""", got[1].Payload);
        Assert.Empty(await Store.GetAsync(c, ["x", "y"]));
        Assert.Empty(await Store.GetAsync(c, []));
    }

    [Fact]
    public async Task Get_without_vectors_returns_payloads_but_no_vectors()
    {
        var c = await NewCollectionAsync(TwoSpaces);
        await Store.UpsertAsync(c, [Point("a", """{"k":"v"}""", ("image", [1f, 2f, 3f, 4f]), ("text", [1f, 2f, 3f]))]);

        var got = Assert.Single(await Store.GetAsync(c, ["a"]));

        Assert.Equal("a", got.Id);
        Assert.Empty(got.Vectors);
        Payloads.AssertSame("""{"k":"v"}""", got.Payload);
    }

    [Fact]
    public async Task Upserting_an_existing_id_replaces_its_vectors_and_payload()
    {
        var c = await NewCollectionAsync(TwoSpaces);
        await Store.UpsertAsync(c, [
            Point("x", """{"colour":"red","size":9}""", ("image", [1f, 0f, 0f, 0f]), ("text", [1f, 1f, 1f])),
            Point("y", """{"colour":"blue"}""", ("image", [0f, 1f, 0f, 0f]), ("text", [2f, 2f, 2f])),
        ]);

        await Store.UpsertAsync(c, [Point("x", """{"shape":"round"}""", ("text", [-1f, 0f, 5f]))]);

        Assert.Equal(2, await Store.CountAsync(c));
        var x = Assert.Single(await Store.GetAsync(c, ["x"], withVectors: true));
        AssertVectorsEqual(new Dictionary<string, float[]> { ["text"] = [-1f, 0f, 5f] }, x.Vectors, "replaced x");
        Payloads.AssertSame("""{"shape":"round"}""", x.Payload, "replaced x");
        // The old image vector and the old payload are gone from search and filters too.
        var imageHits = await Store.SearchAsync(c, new SearchRequest("image", new float[] { 1, 0, 0, 0 }, 10) { Exact = true });
        Assert.Equal(["y"], imageHits.Select(h => h.Id));
        Assert.Equal(0, await Store.CountAsync(c, Filter.All(new MatchKeyword("colour", "red"))));
        Assert.Equal(1, await Store.CountAsync(c, Filter.All(new MatchKeyword("shape", "round"))));
        var textHit = (await Store.SearchAsync(c, new SearchRequest("text", new float[] { 0, 0, 1 }, 1) { Exact = true })).Single();
        Assert.Equal("x", textHit.Id);
        Assert.Equal(5f, textHit.Score, 1e-5f);
    }

    [Fact]
    public async Task A_point_may_carry_only_some_of_the_named_vectors()
    {
        var c = await NewCollectionAsync(TwoSpaces);
        await Store.UpsertAsync(c, [
            Point("both", "{}", ("image", [1f, 0f, 0f, 0f]), ("text", [1f, 0f, 0f])),
            Point("text-only", "{}", ("text", [2f, 0f, 0f])),
            Point("image-only", "{}", ("image", [0.9f, 0.1f, 0f, 0f])),
        ]);

        var imageHits = await Store.SearchAsync(c, new SearchRequest("image", new float[] { 1, 0, 0, 0 }, 10));
        var textHits = await Store.SearchAsync(c, new SearchRequest("text", new float[] { 1, 0, 0 }, 10));

        Assert.Equal(["both", "image-only"], imageHits.Select(h => h.Id));
        Assert.Equal(["text-only", "both"], textHits.Select(h => h.Id));
        var textOnly = Assert.Single(await Store.GetAsync(c, ["text-only"], withVectors: true));
        Assert.Equal(["text"], textOnly.Vectors.Keys);
        Assert.Equal(3, await Store.CountAsync(c));
    }

    [Fact]
    public async Task Points_without_a_payload_have_an_empty_object()
    {
        var c = await NewCollectionAsync(TwoSpaces);
        await Store.UpsertAsync(c, [new VectorPoint("a", new Dictionary<string, float[]> { ["text"] = [1f, 2f, 3f] })]);

        var got = Assert.Single(await Store.GetAsync(c, ["a"]));
        Payloads.AssertSame("{}", got.Payload);
        var hit = Assert.Single(await Store.SearchAsync(c, new SearchRequest("text", new float[] { 1, 2, 3 }, 5)));
        Payloads.AssertSame("{}", hit.Payload);
    }

    [Fact]
    public async Task Payloads_round_trip_as_the_same_json()
    {
        var c = await NewCollectionAsync(TwoSpaces);
        const string payload = """
            {
              "title": "连衣裙 \"quoted\" back\\slash / tab\t newline\n emoji 👗",
              "price": -12.75, "stock": 0, "big": 9007199254740993, "tiny": 1.5e-8,
              "flags": [true, false, null], "empty": {}, "none": [],
              "nested": {"deeper": {"deepest": ["a", 1, {"x": null}]}},
              "unicode-key-键": "值"
            }
            """;

        await Store.UpsertAsync(c, [Point("a", payload, ("text", [1f, 2f, 3f]))]);

        Payloads.AssertSame(payload, Assert.Single(await Store.GetAsync(c, ["a"])).Payload);
        Payloads.AssertSame(payload, (await ScrollAllAsync(c)).Single().Payload);
        Payloads.AssertSame(payload, Assert.Single(await Store.SearchAsync(c, new SearchRequest("text", new float[] { 1, 0, 0 }, 1))).Payload);
    }

    [Fact]
    public async Task Ids_are_exact_strings()
    {
        var c = await NewCollectionAsync(TwoSpaces);
        string[] ids = ["Abc", "abc", "ABC", "商品-1", "with space", "slash/and?query=1&x", "quote\"id", "x", new string('é', 256), "00012", "12"];

        await Store.UpsertAsync(c, [.. ids.Select((id, i) => Point(id, $$"""{"i":{{i}}}""", ("text", [i + 1f, 0f, 1f])))]);

        Assert.Equal(ids.Length, await Store.CountAsync(c));
        var got = await Store.GetAsync(c, ids);
        Assert.Equal(ids, got.Select(p => p.Id));
        for (var i = 0; i < ids.Length; i++)
            Payloads.AssertSame($$"""{"i":{{i}}}""", got[i].Payload, ids[i]);
        Assert.Equal(ids.Order(StringComparer.Ordinal), (await ScrollAllAsync(c)).Select(p => p.Id).Order(StringComparer.Ordinal));
        var hits = await Store.SearchAsync(c, new SearchRequest("text", new float[] { 1, 0, 0 }, ids.Length));
        Assert.Equal(Enumerable.Reverse(ids), hits.Select(h => h.Id));
        Assert.Equal(1, await Store.CountAsync(c, Filter.All(new HasId(["abc"]))));
    }

    [Fact]
    public async Task Count_counts_all_points_or_those_a_filter_matches()
    {
        var c = await NewCollectionAsync(TwoSpaces);
        await Store.UpsertAsync(c, [.. Enumerable.Range(0, 30).Select(i => Point($"p{i}", $$"""{"even":{{(i % 2 == 0 ? "true" : "false")}},"i":{{i}}}""", ("text", [i, 1f, 1f])))]);

        Assert.Equal(30, await Store.CountAsync(c));
        Assert.Equal(30, await Store.CountAsync(c, null));
        Assert.Equal(30, await Store.CountAsync(c, new Filter()));
        Assert.Equal(15, await Store.CountAsync(c, Filter.All(new MatchBool("even", true))));
        Assert.Equal(10, await Store.CountAsync(c, Filter.All(new Range("i", Gte: 20))));
        Assert.Equal(0, await Store.CountAsync(c, Filter.All(new MatchKeyword("even", "true"))));
    }

    [Fact]
    public async Task Delete_by_ids_removes_those_points_and_ignores_unknown_ids()
    {
        var c = await NewCollectionAsync(TwoSpaces);
        await Store.UpsertAsync(c, [.. Enumerable.Range(0, 10).Select(i => Point($"p{i}", "{}", ("text", [i, 1f, 1f])))]);

        await Store.DeleteAsync(c, ["p2", "p5", "never-was", "p2"]);
        await Store.DeleteAsync(c, ["also-never"]);
        await Store.DeleteAsync(c, Array.Empty<string>());

        Assert.Equal(8, await Store.CountAsync(c));
        Assert.Empty(await Store.GetAsync(c, ["p2", "p5"]));
        Assert.Equal(["p1", "p3"], (await Store.GetAsync(c, ["p1", "p2", "p3"])).Select(p => p.Id));
    }

    [Fact]
    public async Task Delete_by_filter_removes_exactly_the_matching_points()
    {
        var c = await NewCollectionAsync(TwoSpaces);
        await Store.UpsertAsync(c, [.. Enumerable.Range(0, 40).Select(i => Point($"p{i}", $$"""{"shelf":"s{{i % 4}}","i":{{i}}}""", ("text", [i, 1f, 1f])))]);

        await Store.DeleteAsync(c, Filter.All(new MatchKeyword("shelf", "s1"), new Range("i", Lt: 20)));

        var expected = Enumerable.Range(0, 40).Where(i => !(i % 4 == 1 && i < 20)).Select(i => $"p{i}").Order(StringComparer.Ordinal);
        Assert.Equal(expected, (await ScrollAllAsync(c)).Select(p => p.Id).Order(StringComparer.Ordinal));
        Assert.Equal(35, await Store.CountAsync(c));

        await Store.DeleteAsync(c, Filter.All(new MatchKeyword("shelf", "no such shelf")));
        Assert.Equal(35, await Store.CountAsync(c));
    }

    [Fact]
    public async Task Deleted_points_are_gone_everywhere_and_can_be_upserted_again()
    {
        var c = await NewCollectionAsync(TwoSpaces);
        var rng = new Random(7);
        var points = Enumerable.Range(0, 200).Select(i => Point($"p{i:D3}", $$"""{"i":{{i}}}""", ("image", VectorMath.Gaussian(rng, 4)), ("text", VectorMath.Gaussian(rng, 3)))).ToList();
        await Store.UpsertAsync(c, points);
        var deleted = points.Where((_, i) => i % 3 == 0).Select(p => p.Id).ToHashSet();

        await Store.DeleteAsync(c, deleted.Take(40).ToList());
        await Store.DeleteAsync(c, Filter.All(new HasId(deleted.Skip(40).ToList())));

        Assert.Equal(200 - deleted.Count, await Store.CountAsync(c));
        Assert.Empty(await Store.GetAsync(c, deleted.ToList()));
        Assert.DoesNotContain((await ScrollAllAsync(c)).Select(p => p.Id), deleted.Contains);
        for (var q = 0; q < 20; q++)
        {
            var query = VectorMath.Gaussian(rng, 4);
            foreach (var exact in new[] { false, true })
            {
                var hits = await Store.SearchAsync(c, new SearchRequest("image", query, 200) { Exact = exact });
                Assert.DoesNotContain(hits, h => deleted.Contains(h.Id));
                Assert.Equal(200 - deleted.Count, hits.Count);
            }
            var reco = await Store.RecommendAsync(c, new RecommendRequest("text", 200) { Positive = [RecommendExample.Of(VectorMath.Gaussian(rng, 3))] });
            Assert.DoesNotContain(reco, h => deleted.Contains(h.Id));
        }

        // Upsert the deleted ones again with new content: they are back, with the new content only.
        var again = points.Where(p => deleted.Contains(p.Id)).Select(p => Point(p.Id, """{"again":true}""", ("text", [9f, 9f, 9f]))).ToList();
        await Store.UpsertAsync(c, again);

        Assert.Equal(200, await Store.CountAsync(c));
        Assert.Equal(deleted.Count, await Store.CountAsync(c, Filter.All(new MatchBool("again", true))));
        var back = await Store.GetAsync(c, [again[0].Id], withVectors: true);
        Assert.Equal(["text"], back.Single().Vectors.Keys);
        Payloads.AssertSame("""{"again":true}""", back.Single().Payload);
        var imageHits = await Store.SearchAsync(c, new SearchRequest("image", VectorMath.Gaussian(rng, 4), 200) { Exact = true });
        Assert.DoesNotContain(imageHits, h => deleted.Contains(h.Id));
        var textHits = await Store.SearchAsync(c, new SearchRequest("text", new float[] { 1, 1, 1 }, deleted.Count));
        Assert.Equal(deleted.Order(StringComparer.Ordinal), textHits.Select(h => h.Id).Order(StringComparer.Ordinal));
    }
}
