namespace Platform.VectorStore.Tests.Behaviour;

public abstract partial class VectorStoreBehaviour
{
    /// <summary>A dense space "v" (2-d dot) beside a sparse space "terms" (with IDF or without) and a sparse "tags" without.</summary>
    private static CollectionSchema SparseSchema(bool idf) =>
        new(new Dictionary<string, VectorParams> { ["v"] = new(2, Distance.Dot) })
        {
            SparseVectors = new Dictionary<string, SparseVectorParams> { ["terms"] = new(idf), ["tags"] = new(false) },
        };

    private static SparseVector Sparse(params (uint Index, float Value)[] entries) =>
        new([.. entries.Select(e => e.Index)], [.. entries.Select(e => e.Value)]);

    private static VectorPoint SparsePoint(string id, SparseVector terms, string payload = "{}", bool dense = true) =>
        new(id, dense ? new Dictionary<string, float[]> { ["v"] = [1f, 0f] } : new Dictionary<string, float[]>(), payload)
        {
            Sparse = new Dictionary<string, SparseVector> { ["terms"] = terms },
        };

    /// <summary>BM25's IDF as the API defines it, for <paramref name="n"/> of <paramref name="total"/> points having the term.</summary>
    private static double Idf(int total, int n) => Math.Log(1 + (total - n + 0.5) / (n + 0.5));

    private static void AssertScores(IReadOnlyList<ScoredPoint> hits, params (string Id, double Score)[] expected)
    {
        Assert.True(expected.Select(e => e.Id).SequenceEqual(hits.Select(h => h.Id)),
            $"expected {Ids(expected.Select(e => e.Id))}, got {Ids(hits)} (scores {string.Join(", ", hits.Select(h => h.Score))})");
        for (var i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(hits[i].Score - expected[i].Score) <= 1e-4 * Math.Max(1, Math.Abs(expected[i].Score)),
                $"{hits[i].Id}: score {hits[i].Score}, expected {expected[i].Score}");
    }

    private static void AssertSparseEqual(SparseVector expected, SparseVector? actual, string what)
    {
        Assert.True(actual is not null, $"{what}: no sparse vector came back");
        var want = expected.Indices.Zip(expected.Values).OrderBy(e => e.First).ToList();
        var got = actual.Indices.Zip(actual.Values).ToList();
        Assert.True(want.SequenceEqual(got),
            $"{what}: expected {string.Join(" ", want.Select(e => $"{e.First}:{e.Second}"))}, got {string.Join(" ", got.Select(e => $"{e.First}:{e.Second}"))}");
    }

    [Fact]
    public async Task Sparse_scores_are_sums_of_products_over_shared_indices_and_points_sharing_none_are_left_out()
    {
        var c = await NewCollectionAsync(SparseSchema(idf: false));
        await Store.UpsertAsync(c,
        [
            SparsePoint("a", Sparse((1, 2f), (5, 1f))),
            SparsePoint("b", Sparse((7, 3f), (1, 1f))),
            SparsePoint("c", Sparse((9, 4f))),
            SparsePoint("d", Sparse((1, 0f), (7, 0f))), // shares indices only through zeros
        ]);

        var hits = await Store.SearchSparseAsync(c, new SparseSearchRequest("terms", Sparse((1, 1f), (7, 2f)), 10));

        // b: 1·1 + 2·3 = 7; a: 1·2 = 2; c shares nothing; d shares only zeros.
        AssertScores(hits, ("b", 7), ("a", 2));
        Assert.Empty(await Store.SearchSparseAsync(c, new SparseSearchRequest("terms", Sparse((4, 1f)), 10)));
        Assert.Empty(await Store.SearchSparseAsync(c, new SparseSearchRequest("tags", Sparse((1, 1f)), 10)));
    }

    [Fact]
    public async Task With_idf_each_term_is_weighted_by_how_few_points_have_it()
    {
        var c = await NewCollectionAsync(SparseSchema(idf: true));
        await Store.UpsertAsync(c,
        [
            SparsePoint("a", Sparse((1, 2f), (5, 1f))),
            SparsePoint("b", Sparse((1, 1f), (7, 3f))),
            SparsePoint("c", Sparse((1, 0.5f))),
            SparsePoint("d", Sparse((9, 1f))),
            new VectorPoint("e", new Dictionary<string, float[]> { ["v"] = [0f, 1f] }), // no sparse vector: still one of N
        ]);

        var hits = await Store.SearchSparseAsync(c, new SparseSearchRequest("terms", Sparse((1, 1f), (7, 1f), (5, 0.5f)), 10));

        // N = 5 points; term 1 is in 3 of them, term 7 in 1, term 5 in 1.
        double idf1 = Idf(5, 3), idf7 = Idf(5, 1), idf5 = Idf(5, 1);
        var b = 1 * 1 * idf1 + 1 * 3 * idf7;
        var a = 1 * 2 * idf1 + 0.5 * 1 * idf5;
        var cScore = 1 * 0.5 * idf1;
        Assert.True(b > a && a > cScore, "the hand-computed ranking should be b, a, c");
        AssertScores(hits, ("b", b), ("a", a), ("c", cScore));
    }

    [Fact]
    public async Task Pages_of_a_sparse_search_with_many_equal_scores_follow_one_order_by_score_then_id()
    {
        var c = await NewCollectionAsync(SparseSchema(idf: false));
        // 300 points, three scores only: pages cut through runs of ties, which must come in id order.
        var points = Enumerable.Range(0, 300).Select(i => SparsePoint($"q{(i * 7919) % 300:D3}", Sparse((5, 1f + i % 3)))).ToList();
        await Store.UpsertAsync(c, points);
        var all = await Store.SearchSparseAsync(c, new SparseSearchRequest("terms", Sparse((5, 1f)), 100) { Offset = 0 });
        var expected = points.Select(p => (p.Id, Score: (double)p.Sparse!["terms"].Values[0]))
            .OrderByDescending(p => p.Score).ThenBy(p => p.Id, StringComparer.Ordinal).ToList();
        AssertScores(all, [.. expected.Take(100)]);
        var paged = new List<ScoredPoint>();
        for (var offset = 0; offset < 300; offset += 37)
            paged.AddRange(await Store.SearchSparseAsync(c, new SparseSearchRequest("terms", Sparse((5, 1f)), 37) { Offset = offset }));
        AssertScores(paged, [.. expected]);
    }

    [Fact]
    public async Task Sparse_search_applies_filters_offset_threshold_and_payload_options()
    {
        var c = await NewCollectionAsync(SparseSchema(idf: false));
        var points = Enumerable.Range(0, 40)
            .Select(i => SparsePoint($"p{i:D2}", Sparse((3, i + 1f), ((uint)(100 + i), 1f)), $$"""{"i":{{i}},"odd":{{(i % 2 == 1 ? "true" : "false")}}}"""))
            .ToList();
        await Store.UpsertAsync(c, points);
        var query = Sparse((3, 1f));

        var odd = await Store.SearchSparseAsync(c, new SparseSearchRequest("terms", query, 5) { Filter = Filter.All(new MatchBool("odd", true)) });
        AssertScores(odd, ("p39", 40), ("p37", 38), ("p35", 36), ("p33", 34), ("p31", 32));
        Payloads.AssertSame("""{"i":39,"odd":true}""", odd[0].Payload, "p39");

        var page = await Store.SearchSparseAsync(c, new SparseSearchRequest("terms", query, 3) { Offset = 2, Filter = Filter.All(new Range("i", Lt: 10)) });
        AssertScores(page, ("p07", 8), ("p06", 7), ("p05", 6));

        var above = await Store.SearchSparseAsync(c, new SparseSearchRequest("terms", query, 100) { ScoreThreshold = 37, WithPayload = false });
        AssertScores(above, ("p39", 40), ("p38", 39), ("p37", 38), ("p36", 37));
        Assert.All(above, h => Assert.Null(h.Payload));

        var excluded = await Store.SearchSparseAsync(c, new SparseSearchRequest("terms", query, 2) { Filter = Filter.None(new Range("i", Gte: 1)) });
        AssertScores(excluded, ("p00", 1));
    }

    [Fact]
    public async Task Replacing_a_point_replaces_its_terms_and_their_document_frequencies()
    {
        var c = await NewCollectionAsync(SparseSchema(idf: true));
        await Store.UpsertAsync(c,
        [
            SparsePoint("a", Sparse((1, 1f), (2, 1f))),
            SparsePoint("b", Sparse((1, 1f))),
            SparsePoint("c", Sparse((3, 1f))),
        ]);
        AssertScores(await Store.SearchSparseAsync(c, new SparseSearchRequest("terms", Sparse((2, 1f)), 10)), ("a", Idf(3, 1)));

        await Store.UpsertAsync(c, [SparsePoint("a", Sparse((3, 2f)))]);

        Assert.Empty(await Store.SearchSparseAsync(c, new SparseSearchRequest("terms", Sparse((2, 1f)), 10)));
        // Term 1 is now in b alone, term 3 in a and c.
        AssertScores(await Store.SearchSparseAsync(c, new SparseSearchRequest("terms", Sparse((1, 1f)), 10)), ("b", Idf(3, 1)));
        AssertScores(await Store.SearchSparseAsync(c, new SparseSearchRequest("terms", Sparse((3, 1f)), 10)), ("a", 2 * Idf(3, 2)), ("c", Idf(3, 2)));

        // A replacement without the sparse vector leaves the point out of sparse search, but it still counts in N.
        await Store.UpsertAsync(c, [new VectorPoint("c", new Dictionary<string, float[]> { ["v"] = [1f, 1f] })]);
        AssertScores(await Store.SearchSparseAsync(c, new SparseSearchRequest("terms", Sparse((3, 1f)), 10)), ("a", 2 * Idf(3, 1)));
    }

    [Fact]
    public async Task Deleted_points_leave_sparse_results_and_the_idf_counts()
    {
        var c = await NewCollectionAsync(SparseSchema(idf: true));
        await Store.UpsertAsync(c, [.. Enumerable.Range(0, 6).Select(i => SparsePoint($"d{i}", Sparse((1, 1f), ((uint)(10 + i), 1f)), $$"""{"i":{{i}}}"""))]);

        await Store.DeleteAsync(c, ["d0", "d1"]);
        await Store.DeleteAsync(c, Filter.All(new MatchInteger("i", 5)));

        var hits = await Store.SearchSparseAsync(c, new SparseSearchRequest("terms", Sparse((1, 1f)), 10));
        AssertScores(hits, ("d2", Idf(3, 3)), ("d3", Idf(3, 3)), ("d4", Idf(3, 3)));
        AssertScores(await Store.SearchSparseAsync(c, new SparseSearchRequest("terms", Sparse((13, 1f), (10, 1f)), 10)), ("d3", Idf(3, 1)));
    }

    [Fact]
    public async Task Get_and_scroll_return_sparse_vectors_sorted_by_index_when_vectors_are_asked_for()
    {
        var c = await NewCollectionAsync(SparseSchema(idf: false));
        var point = new VectorPoint("s", new Dictionary<string, float[]>())
        {
            Sparse = new Dictionary<string, SparseVector> { ["terms"] = Sparse((9, 1.5f), (2, -0.25f), (4_000_000_000, 3f)), ["tags"] = Sparse() },
        };
        await Store.UpsertAsync(c, [point, SparsePoint("dense", Sparse((1, 1f)))]);

        var got = (await Store.GetAsync(c, ["s"], withVectors: true)).Single();
        Assert.Empty(got.Vectors);
        Assert.NotNull(got.Sparse);
        Assert.Equal(["tags", "terms"], got.Sparse.Keys.Order(StringComparer.Ordinal));
        AssertSparseEqual(point.Sparse["terms"], got.Sparse["terms"], "get");
        Assert.Equal([2u, 9u, 4_000_000_000u], got.Sparse["terms"].Indices);
        Assert.Empty(got.Sparse["tags"].Indices);

        var scrolled = (await ScrollAllAsync(c, withVectors: true)).Single(p => p.Id == "s");
        AssertSparseEqual(point.Sparse["terms"], scrolled.Sparse?["terms"], "scroll");
        Assert.Null((await Store.GetAsync(c, ["s"])).Single().Sparse);
        Assert.Null((await ScrollAllAsync(c)).Single(p => p.Id == "s").Sparse);
        AssertScores(await Store.SearchSparseAsync(c, new SparseSearchRequest("terms", Sparse((4_000_000_000, 2f)), 10)), ("s", 6));
    }

    [Fact]
    public async Task A_collection_of_sparse_vectors_only_takes_points_without_dense_vectors()
    {
        var schema = new CollectionSchema(new Dictionary<string, VectorParams>())
        {
            SparseVectors = new Dictionary<string, SparseVectorParams> { ["terms"] = new(true) },
        };
        var c = await NewCollectionAsync(schema);
        await Store.UpsertAsync(c, [SparsePoint("x", Sparse((1, 1f)), dense: false), SparsePoint("y", Sparse((2, 1f)), dense: false)]);

        Assert.True((await Store.GetCollectionAsync(c))!.SameAs(schema));
        AssertScores(await Store.SearchSparseAsync(c, new SparseSearchRequest("terms", Sparse((2, 1f)), 10)), ("y", Idf(2, 1)));
        Assert.Equal(2, await Store.CountAsync(c));
    }

    [Fact]
    public async Task Sparse_spaces_are_part_of_the_schema()
    {
        var schema = SparseSchema(idf: true);
        var c = await NewCollectionAsync(schema);

        var stored = (await Store.GetCollectionAsync(c))!;
        Assert.True(stored.SameAs(schema));
        Assert.Equal(new SparseVectorParams(true), stored.SparseVectors["terms"]);
        Assert.False(stored.SameAs(SparseSchema(idf: false)));
        Assert.False(stored.SameAs(new CollectionSchema(schema.Vectors)));
        await Store.CreateCollectionAsync(c, SparseSchema(idf: true));
        await AssertFailsAsync(VectorStoreErrorKind.Conflict, async () => await Store.CreateCollectionAsync(c, SparseSchema(idf: false)), c);
    }

    [Fact]
    public async Task Bad_sparse_schemas_are_bad_requests_naming_the_culprit()
    {
        var both = new CollectionSchema(new Dictionary<string, VectorParams> { ["same"] = new(2, Distance.Dot) })
        {
            SparseVectors = new Dictionary<string, SparseVectorParams> { ["same"] = new(false) },
        };
        await AssertFailsAsync(VectorStoreErrorKind.BadRequest, async () => await Store.CreateCollectionAsync(NewCollectionName(), both), "same");
        var badName = new CollectionSchema(new Dictionary<string, VectorParams>()) { SparseVectors = new Dictionary<string, SparseVectorParams> { ["no spaces"] = new(false) } };
        await AssertFailsAsync(VectorStoreErrorKind.BadRequest, async () => await Store.CreateCollectionAsync(NewCollectionName(), badName), "no spaces");
        await AssertFailsAsync(VectorStoreErrorKind.BadRequest,
            async () => await Store.CreateCollectionAsync(NewCollectionName(), new CollectionSchema(new Dictionary<string, VectorParams>())), "at least one");
    }

    public static TheoryData<string, float[], uint[], string> BadSparseVectors => new()
    {
        { "duplicate index", [1f, 2f, 3f], [4u, 77u, 77u], "77" },
        { "NaN value", [1f, float.NaN], [4u, 5u], "nan" },
        { "infinite value", [float.NegativeInfinity], [4u], "infinite" },
        { "more values than indices", [1f, 2f], [4u], "values" },
    };

    [Theory]
    [MemberData(nameof(BadSparseVectors))]
    public async Task Malformed_sparse_vectors_are_bad_requests_and_the_batch_stores_nothing(string what, float[] values, uint[] indices, string mention)
    {
        var c = await NewCollectionAsync(SparseSchema(idf: false));
        var bad = new SparseVector(indices, values);

        var upsert = await AssertFailsAsync(VectorStoreErrorKind.BadRequest,
            async () => await Store.UpsertAsync(c, [SparsePoint("fine", Sparse((1, 1f))), SparsePoint("broken", bad)]), "broken", "terms", mention);
        Assert.True(upsert.Message.Length > 0, what);
        await AssertFailsAsync(VectorStoreErrorKind.BadRequest, async () => await Store.SearchSparseAsync(c, new SparseSearchRequest("terms", bad, 3)), mention);
        Assert.Equal(0, await Store.CountAsync(c));
    }

    [Fact]
    public async Task A_sparse_vector_over_the_entry_limit_is_a_bad_request()
    {
        var c = await NewCollectionAsync(SparseSchema(idf: false));
        var n = SparseVector.MaxEntries + 1;
        var big = new SparseVector([.. Enumerable.Range(0, n).Select(i => (uint)i)], Enumerable.Repeat(1f, n).ToArray());

        var error = await AssertFailsAsync(VectorStoreErrorKind.BadRequest, async () => await Store.UpsertAsync(c, [SparsePoint("big", big)]), "big");
        AssertMentionsNumber(error, SparseVector.MaxEntries);
        Assert.Equal(0, await Store.CountAsync(c));
    }

    [Fact]
    public async Task Unknown_or_misused_sparse_names_are_bad_requests_naming_them()
    {
        var c = await NewCollectionAsync(SparseSchema(idf: false));
        var unknown = new VectorPoint("u", new Dictionary<string, float[]> { ["v"] = [1f, 0f] })
        {
            Sparse = new Dictionary<string, SparseVector> { ["wordz"] = Sparse((1, 1f)) },
        };
        await AssertFailsAsync(VectorStoreErrorKind.BadRequest, async () => await Store.UpsertAsync(c, [SparsePoint("ok", Sparse((1, 1f))), unknown]), "wordz");
        var denseAsSparse = new VectorPoint("u", new Dictionary<string, float[]>()) { Sparse = new Dictionary<string, SparseVector> { ["v"] = Sparse((1, 1f)) } };
        await AssertFailsAsync(VectorStoreErrorKind.BadRequest, async () => await Store.UpsertAsync(c, [denseAsSparse]), "'v'");
        await AssertFailsAsync(VectorStoreErrorKind.BadRequest,
            async () => await Store.UpsertAsync(c, [new VectorPoint("nothing", new Dictionary<string, float[]>()) { Sparse = new Dictionary<string, SparseVector>() }]), "nothing");
        Assert.Equal(0, await Store.CountAsync(c));

        await AssertFailsAsync(VectorStoreErrorKind.BadRequest, async () => await Store.SearchSparseAsync(c, new SparseSearchRequest("wordz", Sparse((1, 1f)), 3)), "wordz");
        await AssertFailsAsync(VectorStoreErrorKind.BadRequest, async () => await Store.SearchSparseAsync(c, new SparseSearchRequest("v", Sparse((1, 1f)), 3)), "'v'");
        await AssertFailsAsync(VectorStoreErrorKind.BadRequest, async () => await Store.SearchAsync(c, new SearchRequest("terms", new float[] { 1f, 0f }, 3)), "terms");
        await AssertFailsAsync(VectorStoreErrorKind.BadRequest, async () => await Store.SearchSparseAsync(c, new SparseSearchRequest("terms", Sparse((1, 1f)), 0)), "limit");
        await AssertFailsAsync(VectorStoreErrorKind.BadRequest, async () => await Store.SearchSparseAsync(c, new SparseSearchRequest("terms", Sparse((1, 1f)), 3) { Offset = -1 }), "offset");
        await AssertFailsAsync(VectorStoreErrorKind.NotFound, async () => await Store.SearchSparseAsync(NewCollectionName(), new SparseSearchRequest("terms", Sparse((1, 1f)), 3)));
    }

    /// <summary>Sparse points with replacements (enough to compact the embedded engine) and deletions; returns what should be there.</summary>
    private async Task<(string Collection, Dictionary<string, SparseVector> Terms)> WriteSparseHistoryAsync()
    {
        var c = await NewCollectionAsync(SparseSchema(idf: true));
        var rng = new Random(900);
        var terms = new Dictionary<string, SparseVector>();
        SparseVector Random() => Sparse([.. Enumerable.Range(0, rng.Next(1, 6)).Select(_ => (uint)rng.Next(0, 60)).Distinct().Select(t => (t, (float)Math.Round(rng.NextDouble() * 4 + 0.1, 3)))]);
        for (var round = 0; round < 3; round++)
        {
            for (var start = 0; start < 1200; start += 200)
            {
                var batch = Enumerable.Range(start, 200).Select(i => SparsePoint($"s{i:D4}", Random(), $$"""{"i":{{i}},"round":{{round}}}""")).ToList();
                await Store.UpsertAsync(c, batch);
                batch.ForEach(p => terms[p.Id] = p.Sparse!["terms"]);
            }
        }
        var deleted = Enumerable.Range(0, 1200).Where(i => i % 9 == 4).Select(i => $"s{i:D4}").ToList();
        await Store.DeleteAsync(c, deleted);
        deleted.ForEach(id => terms.Remove(id));
        return (c, terms);
    }

    /// <summary>Brute force over the expected points: the API's scores with IDF, highest first, ties by id.</summary>
    private static List<(string Id, double Score)> ExpectedSparse(Dictionary<string, SparseVector> terms, SparseVector query, int limit)
    {
        var df = query.Indices.ToDictionary(t => t, t => terms.Values.Count(v => v.Indices.Zip(v.Values).Any(e => e.First == t && e.Second != 0)));
        var scored = new List<(string Id, double Score)>();
        foreach (var (id, v) in terms)
        {
            var shared = v.Indices.Zip(v.Values).Where(e => e.Second != 0 && query.Indices.Contains(e.First)).ToList();
            if (shared.Count == 0)
                continue;
            var score = shared.Sum(e => query.Values[Array.IndexOf(query.Indices, e.First)] * e.Second * Idf(terms.Count, df[e.First]));
            scored.Add((id, score));
        }
        return [.. scored.OrderByDescending(s => s.Score).ThenBy(s => s.Id, StringComparer.Ordinal).Take(limit)];
    }

    [Fact]
    public async Task Sparse_results_match_brute_force_after_replacements_and_deletions_and_after_reopening()
    {
        var (c, terms) = await WriteSparseHistoryAsync();
        var queries = new[] { Sparse((3, 1f), (17, 2f)), Sparse((40, 1f)), Sparse((0, 0.5f), (59, 1f), (21, 1f)) };

        async Task CheckAsync(string when)
        {
            Assert.Equal(terms.Count, await Store.CountAsync(c));
            foreach (var q in queries)
            {
                var hits = await Store.SearchSparseAsync(c, new SparseSearchRequest("terms", q, 15));
                var expected = ExpectedSparse(terms, q, 15);
                // Compare scores in order, and ids where scores are clearly apart (equal scores may come in any order).
                Assert.Equal(expected.Count, hits.Count);
                for (var i = 0; i < hits.Count; i++)
                {
                    Assert.True(Math.Abs(hits[i].Score - expected[i].Score) <= 1e-4 * Math.Max(1, expected[i].Score), $"{when}: hit {i} scores {hits[i].Score}, expected {expected[i].Score}");
                    Assert.True(terms.ContainsKey(hits[i].Id), $"{when}: hit {hits[i].Id} was deleted");
                }
                var near = hits.Where(h => expected.Count(e => Math.Abs(e.Score - h.Score) <= 1e-3) == 1).ToList();
                foreach (var h in near)
                    Assert.Equal(expected.Single(e => Math.Abs(e.Score - h.Score) <= 1e-3).Id, h.Id);
            }
            var sample = terms.Keys.Order(StringComparer.Ordinal).Where((_, i) => i % 97 == 0).ToList();
            foreach (var point in await Store.GetAsync(c, sample, withVectors: true))
                AssertSparseEqual(terms[point.Id], point.Sparse?["terms"], $"{when}: {point.Id}");
        }

        await CheckAsync("before reopening");
        ReopenStore();
        await CheckAsync("after reopening");
        await Store.UpsertAsync(c, [SparsePoint("late", Sparse((40, 100f)))]);
        terms["late"] = Sparse((40, 100f));
        ReopenStore();
        await CheckAsync("after a write and another reopen");
    }

    [Fact]
    public async Task Sparse_readers_during_replacements_see_each_point_once_with_a_whole_version()
    {
        var c = await NewCollectionAsync(SparseSchema(idf: false));
        // Every version of p{i} holds term 1 with value i + 1 plus a term of its own, so a hit's score says which point it is.
        SparseVector Version(int i, int round) => Sparse((1, i + 1f), ((uint)(1000 + round), 1f));
        await Store.UpsertAsync(c, [.. Enumerable.Range(0, 200).Select(i => SparsePoint($"p{i:D3}", Version(i, 0)))]);
        using var guard = Guard();
        var done = false;
        var writer = Task.Run(async () =>
        {
            try
            {
                for (var round = 1; round <= 30; round++)
                    await Store.UpsertAsync(c, [.. Enumerable.Range(0, 200).Select(i => SparsePoint($"p{i:D3}", Version(i, round)))]);
            }
            finally
            {
                Volatile.Write(ref done, true);
            }
        });
        var readers = Enumerable.Range(0, 3).Select(_ => Task.Run(async () =>
        {
            var reads = 0;
            while (!Volatile.Read(ref done) || reads < 3)
            {
                guard.Token.ThrowIfCancellationRequested();
                var hits = await Store.SearchSparseAsync(c, new SparseSearchRequest("terms", Sparse((1, 1f)), 300));
                Assert.Equal(200, hits.Count);
                Assert.Equal(200, hits.Select(h => h.Id).Distinct().Count());
                foreach (var hit in hits)
                    Assert.Equal(int.Parse(hit.Id.AsSpan(1)) + 1f, hit.Score);
                reads++;
            }
        })).ToList();

        await Task.WhenAll([writer, .. readers]);
    }
}
