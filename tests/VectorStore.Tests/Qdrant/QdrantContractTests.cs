using System.Text.Json;
using Platform.VectorStore.Qdrant;

namespace Platform.VectorStore.Tests.Qdrant;

/// <summary>
/// Contract tests: every request <see cref="QdrantVectorStore"/> builds is valid by Qdrant's OpenAPI document (v1.19),
/// and every schema-valid response it is given is parsed into the right result. These check shapes, not Qdrant's
/// behaviour; the behavioural suite runs against a real server when QDRANT_URL names one.
/// </summary>
public sealed class QdrantContractTests
{
    private const string C = "products";
    private static string U(string id) => QdrantPointId.For(id);
    private static readonly CannedResponse Missing = CannedResponse.Error(404, "Not found: Collection `products` doesn't exist!");

    private static void AssertJson(string expected, JsonElement actual)
    {
        using var e = JsonDocument.Parse(expected);
        Assert.True(SchemaValidator.JsonEquals(e.RootElement, actual),
            $"expected\n{JsonSerializer.Serialize(e.RootElement)}\nbut the backend sent\n{JsonSerializer.Serialize(actual)}");
    }

    // ---- collections ----

    [Fact]
    public async Task Create_collection_puts_named_vectors_then_reads_the_schema_back()
    {
        using var h = new QdrantHarness();
        h.On("get_collection", Missing, CannedResponse.Ok(Canned.CollectionInfo(Canned.TestVectors)));
        h.On("create_collection", CannedResponse.Ok("true"));

        await h.Store.CreateCollectionAsync(C, Canned.TestSchema);
        var schema = await h.Store.GetCollectionAsync(C);

        AssertJson("""{"vectors":{"dist":{"size":2,"distance":"Euclid"},"image":{"size":4,"distance":"Cosine"},"text":{"size":3,"distance":"Dot"}}}""",
            h.BodyOf("create_collection"));
        Assert.Equal($"/collections/{C}", h.Handler.CallsTo("create_collection").Single().Path);
        Assert.NotNull(schema);
        Assert.True(schema.SameAs(Canned.TestSchema));
        h.AssertContract();
    }

    [Fact]
    public async Task Create_collection_with_the_same_schema_is_a_no_op_and_with_another_is_a_conflict()
    {
        using var h = new QdrantHarness();
        h.On("get_collection",
            CannedResponse.Ok(Canned.CollectionInfo(Canned.TestVectors)),
            CannedResponse.Ok(Canned.CollectionInfo([("image", 8, "Cosine"), ("text", 3, "Dot"), ("dist", 2, "Euclid")])));

        await h.Store.CreateCollectionAsync(C, Canned.TestSchema);
        var e = await Assert.ThrowsAsync<VectorStoreException>(() => h.Store.CreateCollectionAsync(C, Canned.TestSchema).AsTask());

        Assert.Equal(VectorStoreErrorKind.Conflict, e.Kind);
        Assert.Contains("'image' 8 Cosine", e.Message, StringComparison.Ordinal);
        Assert.Empty(h.Handler.CallsTo("create_collection"));
        h.AssertContract();
    }

    [Fact]
    public async Task Create_collection_that_another_client_created_meanwhile_compares_with_theirs()
    {
        using var h = new QdrantHarness();
        var exists = CannedResponse.Error(409, "Wrong input: Collection `products` already exists!");
        h.On("get_collection",
            Missing, CannedResponse.Ok(Canned.CollectionInfo(Canned.TestVectors)),
            Missing, CannedResponse.Ok(Canned.CollectionInfo([("image", 4, "Dot")])));
        h.On("create_collection", exists, exists);

        await h.Store.CreateCollectionAsync(C, Canned.TestSchema);
        var e = await Assert.ThrowsAsync<VectorStoreException>(() => h.Store.CreateCollectionAsync(C, Canned.TestSchema).AsTask());

        Assert.Equal(VectorStoreErrorKind.Conflict, e.Kind);
        h.AssertContract();
    }

    [Fact]
    public async Task Create_collection_validates_the_schema_before_sending()
    {
        using var h = new QdrantHarness();
        var bad = new CollectionSchema(new Dictionary<string, VectorParams> { ["image"] = new(0, Distance.Cosine) });
        var e = await Assert.ThrowsAsync<VectorStoreException>(() => h.Store.CreateCollectionAsync(C, bad).AsTask());
        Assert.Equal(VectorStoreErrorKind.BadRequest, e.Kind);
        var name = await Assert.ThrowsAsync<VectorStoreException>(() => h.Store.CreateCollectionAsync("no/slashes", Canned.TestSchema).AsTask());
        Assert.Equal(VectorStoreErrorKind.BadRequest, name.Kind);
        Assert.Empty(h.Handler.Calls);
    }

    [Fact]
    public async Task Get_collection_reads_the_unnamed_vector_form_and_is_null_when_missing()
    {
        using var h = new QdrantHarness();
        h.On("get_collection", CannedResponse.Ok(Canned.CollectionInfoUnnamed(5, "Euclid")), Missing,
            CannedResponse.Ok(Canned.CollectionInfo([("image", 4, "Manhattan")])));

        var unnamed = await h.Store.GetCollectionAsync(C);
        var missing = await h.Store.GetCollectionAsync(C);
        var manhattan = await Assert.ThrowsAsync<VectorStoreException>(() => h.Store.GetCollectionAsync(C).AsTask());

        Assert.NotNull(unnamed);
        Assert.Equal(new VectorParams(5, Distance.Euclid), unnamed.Vectors[""]);
        Assert.Single(unnamed.Vectors);
        Assert.Null(missing);
        Assert.Contains("Manhattan", manhattan.Message, StringComparison.Ordinal);
        h.AssertContract();
    }

    [Fact]
    public async Task List_collections_returns_names_sorted()
    {
        using var h = new QdrantHarness();
        h.On("get_collections", CannedResponse.Ok("""{"collections":[{"name":"products_v2"},{"name":"emoji"},{"name":"products"}]}"""));
        Assert.Equal(["emoji", "products", "products_v2"], await h.Store.ListCollectionsAsync());
        h.AssertContract();
    }

    [Fact]
    public async Task Delete_collection_says_whether_there_was_one()
    {
        using var h = new QdrantHarness();
        h.On("delete_collection", CannedResponse.Ok("true"), CannedResponse.Ok("false"), Missing);
        Assert.True(await h.Store.DeleteCollectionAsync(C));
        Assert.False(await h.Store.DeleteCollectionAsync(C));
        Assert.False(await h.Store.DeleteCollectionAsync(C));
        h.AssertContract();
    }

    [Fact]
    public async Task The_schema_is_cached_and_dropped_when_the_collection_is_deleted()
    {
        using var h = new QdrantHarness();
        h.WithTestCollection().WithTestCollection();
        h.On("count_points", CannedResponse.Ok("""{"count":1}"""), CannedResponse.Ok("""{"count":1}"""), CannedResponse.Ok("""{"count":0}"""));
        h.On("delete_collection", CannedResponse.Ok("true"));

        await h.Store.CountAsync(C);
        await h.Store.CountAsync(C);
        Assert.Single(h.Handler.CallsTo("get_collection"));
        await h.Store.DeleteCollectionAsync(C);
        await h.Store.CountAsync(C);
        Assert.Equal(2, h.Handler.CallsTo("get_collection").Count());
        h.AssertContract();
    }

    // ---- upsert ----

    [Fact]
    public async Task Upsert_sends_uuid_ids_named_vectors_and_keeps_the_original_id_in_the_payload()
    {
        using var h = new QdrantHarness();
        h.WithTestCollection().On("upsert_points", CannedResponse.Ok(Canned.Completed));

        await h.Store.UpsertAsync(C,
        [
            new VectorPoint("emoji-1f457",
                new Dictionary<string, float[]> { ["image"] = [1f, 0f, 0.5f, -2f], ["text"] = [0.25f, 0f, 1f] },
                """{"title":"dress","title_zh":"连衣裙","price":12.5,"tags":["red","summer"],"attributes":{"colour":"red"}}"""),
            new VectorPoint("连衣裙-2", new Dictionary<string, float[]> { ["text"] = [0f, 0f, 0f] }),
        ]);

        var call = h.Handler.CallsTo("upsert_points").Single();
        Assert.Equal("true", call.Query["wait"]);
        AssertJson($$$$"""
            {"points":[
              {"id":"8f1901eb-010c-5a5d-be86-a7f4c62c7ddf",
               "vector":{"image":[1,0,0.5,-2],"text":[0.25,0,1]},
               "payload":{"_pid":"emoji-1f457","title":"dress","title_zh":"连衣裙","price":12.5,"tags":["red","summer"],"attributes":{"colour":"red"}}},
              {"id":"{{{{U("连衣裙-2")}}}}","vector":{"text":[0,0,0]},"payload":{"_pid":"连衣裙-2"}}
            ]}
            """, call.Json);
        h.AssertContract();
    }

    [Fact]
    public async Task Upsert_into_an_unnamed_vector_collection_sends_a_plain_vector()
    {
        using var h = new QdrantHarness();
        h.On("get_collection", CannedResponse.Ok(Canned.CollectionInfoUnnamed(2, "Dot")));
        h.On("upsert_points", CannedResponse.Ok(Canned.Completed));

        await h.Store.UpsertAsync(C, [new VectorPoint("a", new Dictionary<string, float[]> { [""] = [1f, 2f] })]);

        AssertJson($$$"""{"points":[{"id":"{{{U("a")}}}","vector":[1,2],"payload":{"_pid":"a"}}]}""", h.BodyOf("upsert_points"));
        h.AssertContract();
    }

    public static TheoryData<string, string> BadPoints => new()
    {
        { "wrong-dimension", "has dimension 4, got 3" },
        { "nan", "component 1 is NaN" },
        { "infinity", "component 0 is Infinity" },
        { "zero-cosine", "all zeros" },
        { "unknown-vector", "unknown named vector 'audio'" },
        { "no-vectors", "has no vectors" },
        { "empty-id", "must not be empty" },
        { "long-id", "257 characters" },
        { "lone-surrogate", "not valid Unicode" },
        { "payload-array", "must be a JSON object, got array" },
        { "payload-invalid", "not valid JSON" },
        { "payload-reserved", "'_pid' is reserved" },
    };

    [Theory]
    [MemberData(nameof(BadPoints))]
    public async Task Upsert_rejects_the_whole_batch_before_sending_any_of_it(string kind, string expected)
    {
        using var h = new QdrantHarness();
        h.WithTestCollection();
        var good = new VectorPoint("good", new Dictionary<string, float[]> { ["image"] = [1f, 0f, 0f, 0f] });
        var bad = kind switch
        {
            "wrong-dimension" => good with { Id = "bad", Vectors = new Dictionary<string, float[]> { ["image"] = [1f, 0f, 0f] } },
            "nan" => good with { Id = "bad", Vectors = new Dictionary<string, float[]> { ["text"] = [1f, float.NaN, 0f] } },
            "infinity" => good with { Id = "bad", Vectors = new Dictionary<string, float[]> { ["dist"] = [float.PositiveInfinity, 0f] } },
            "zero-cosine" => good with { Id = "bad", Vectors = new Dictionary<string, float[]> { ["image"] = [0f, 0f, 0f, 0f] } },
            "unknown-vector" => good with { Id = "bad", Vectors = new Dictionary<string, float[]> { ["audio"] = [1f] } },
            "no-vectors" => good with { Id = "bad", Vectors = new Dictionary<string, float[]>() },
            "empty-id" => good with { Id = "" },
            "long-id" => good with { Id = new string('x', 257) },
            "lone-surrogate" => good with { Id = "a\ud800b" },
            "payload-array" => good with { Id = "bad", Payload = "[1,2]" },
            "payload-invalid" => good with { Id = "bad", Payload = "{\"a\":" },
            "payload-reserved" => good with { Id = "bad", Payload = """{"_pid":"other"}""" },
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };

        var e = await Assert.ThrowsAsync<VectorStoreException>(() => h.Store.UpsertAsync(C, [good, bad]).AsTask());

        Assert.Equal(VectorStoreErrorKind.BadRequest, e.Kind);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Empty(h.Handler.CallsTo("upsert_points"));
        h.AssertContract();
    }

    [Fact]
    public async Task Upsert_accepts_the_longest_id_and_an_all_zero_dot_vector()
    {
        using var h = new QdrantHarness();
        h.WithTestCollection().On("upsert_points", CannedResponse.Ok(Canned.Completed));
        await h.Store.UpsertAsync(C, [new VectorPoint(new string('x', 256), new Dictionary<string, float[]> { ["text"] = [0f, 0f, 0f] })]);
        h.AssertContract();
    }

    [Fact]
    public async Task A_write_that_Qdrant_does_not_report_completed_is_not_acknowledged()
    {
        using var h = new QdrantHarness();
        h.WithTestCollection().On("upsert_points", CannedResponse.Ok("""{"operation_id":3,"status":"wait_timeout"}"""));
        var e = await Assert.ThrowsAsync<VectorStoreException>(() =>
            h.Store.UpsertAsync(C, [new VectorPoint("a", new Dictionary<string, float[]> { ["text"] = [1f, 0f, 0f] })]).AsTask());
        Assert.Equal(VectorStoreErrorKind.Unavailable, e.Kind);
        Assert.Contains("wait_timeout", e.Message, StringComparison.Ordinal);
        h.AssertContract();
    }

    // ---- delete, get, count, scroll ----

    [Fact]
    public async Task Delete_by_ids_and_by_filter_wait_for_the_write()
    {
        using var h = new QdrantHarness();
        h.WithTestCollection().On("delete_points", CannedResponse.Ok(Canned.Completed), CannedResponse.Ok(Canned.Completed));

        await h.Store.DeleteAsync(C, ["a", "emoji-1f457", "a"]);
        await h.Store.DeleteAsync(C, Filter.All(new MatchKeyword("category", "dress")));

        var calls = h.Handler.CallsTo("delete_points").ToList();
        Assert.All(calls, c => Assert.Equal("true", c.Query["wait"]));
        AssertJson($$"""{"points":["{{U("a")}}","8f1901eb-010c-5a5d-be86-a7f4c62c7ddf"]}""", calls[0].Json);
        AssertJson("""{"filter":{"must":[{"key":"category","match":{"value":"dress"}}]}}""", calls[1].Json);
        h.AssertContract();
    }

    [Fact]
    public async Task Filters_of_every_kind_map_to_qdrant_conditions()
    {
        using var h = new QdrantHarness();
        h.WithTestCollection().On("count_points", CannedResponse.Ok("""{"count":42}"""), CannedResponse.Ok("""{"count":849}"""));
        var filter = new Filter
        {
            Must =
            [
                new MatchKeyword("category", "dress"),
                new MatchInteger("stock", -3),
                new MatchBool("active", true),
                new Range("price", Gte: 10, Lt: 99.5),
                new MatchAny("attributes.colour", ["red", "blue", "red"]),
                new Filter(),
            ],
            Should =
            [
                new HasId(["emoji-1f457", "a", "a"]),
                Filter.All(new MatchKeyword("brand", "acme"), new Range("rating", Gt: 4)),
            ],
            MustNot =
            [
                Filter.Any(new MatchBool("discontinued", true)),
                new Range("weight", Lte: 0),
                Filter.None(new MatchAny("tags", [])),
            ],
        };

        Assert.Equal(42, await h.Store.CountAsync(C, filter));
        Assert.Equal(849, await h.Store.CountAsync(C));

        var calls = h.Handler.CallsTo("count_points").ToList();
        AssertJson($$$"""
            {"filter":{
               "must":[
                 {"key":"category","match":{"value":"dress"}},
                 {"key":"stock","match":{"value":-3}},
                 {"key":"active","match":{"value":true}},
                 {"key":"price","range":{"gte":10,"lt":99.5}},
                 {"key":"attributes.colour","match":{"any":["red","blue"]}},
                 {}
               ],
               "should":[
                 {"has_id":["8f1901eb-010c-5a5d-be86-a7f4c62c7ddf","{{{U("a")}}}"]},
                 {"must":[{"key":"brand","match":{"value":"acme"}},{"key":"rating","range":{"gt":4}}]}
               ],
               "must_not":[
                 {"should":[{"key":"discontinued","match":{"value":true}}]},
                 {"key":"weight","range":{"lte":0}},
                 {"must_not":[{"key":"tags","match":{"any":[]}}]}
               ]},
             "exact":true}
            """, calls[0].Json);
        AssertJson("""{"exact":true}""", calls[1].Json);
        h.AssertContract();
    }

    public static TheoryData<string, string> BadFilters => new()
    {
        { "range-without-bounds", "needs at least one bound" },
        { "range-nan", "bounds must be finite" },
        { "empty-key", "key must not be empty" },
        { "bad-has-id", "must not be empty" },
        { "null-condition", "condition is null" },
    };

    [Theory]
    [MemberData(nameof(BadFilters))]
    public async Task A_bad_filter_is_rejected_before_sending(string kind, string expected)
    {
        using var h = new QdrantHarness();
        h.WithTestCollection();
        Filter filter = kind switch
        {
            "range-without-bounds" => Filter.All(new Range("price")),
            "range-nan" => Filter.All(new Range("price", Gt: double.NaN)),
            "empty-key" => Filter.Any(new MatchKeyword("", "x")),
            "bad-has-id" => Filter.None(new HasId([""])),
            "null-condition" => Filter.All(new Filter { Must = [null!] }),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
        await h.Store.GetCollectionAsync(C); // the schema is cached, so nothing else may be sent

        var e = await Assert.ThrowsAsync<VectorStoreException>(() => h.Store.CountAsync(C, filter).AsTask());

        Assert.Equal(VectorStoreErrorKind.BadRequest, e.Kind);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Single(h.Handler.Calls);
        h.AssertContract();
    }

    [Fact]
    public async Task Get_returns_points_in_the_order_asked_with_the_id_key_stripped()
    {
        using var h = new QdrantHarness();
        h.WithTestCollection().On("get_points", CannedResponse.Ok("[" + string.Join(",",
            Canned.Record("b", """{"n":2}""", """{"text":[0,1,0]}"""),
            Canned.Record("c", """{"n":3,"nested":{"_pid":"kept: only the top-level key is ours"}}""", """{"image":[0.5,0.5,0.5,0.5],"text":[1,0,0]}"""),
            Canned.Record("a", "{}", """{"dist":[1.5,-2]}""")) + "]"));

        var points = await h.Store.GetAsync(C, ["c", "a", "missing", "b", "c"], withVectors: true);

        Assert.Equal(["c", "a", "b", "c"], points.Select(p => p.Id));
        Assert.Equal("""{"n":3,"nested":{"_pid":"kept: only the top-level key is ours"}}""", points[0].Payload);
        Assert.Equal("{}", points[1].Payload);
        Assert.Equal("""{"n":2}""", points[2].Payload);
        Assert.Equal([0.5f, 0.5f, 0.5f, 0.5f], points[0].Vectors["image"]);
        Assert.Equal([1.5f, -2f], points[1].Vectors["dist"]);
        Assert.Equal(["text"], points[2].Vectors.Keys);
        AssertJson($$"""{"ids":["{{U("c")}}","{{U("a")}}","{{U("missing")}}","{{U("b")}}"],"with_payload":true,"with_vector":true}""",
            h.BodyOf("get_points"));
        h.AssertContract();
    }

    [Fact]
    public async Task Get_without_vectors_returns_empty_vector_maps()
    {
        using var h = new QdrantHarness();
        h.WithTestCollection().On("get_points", CannedResponse.Ok("[" + Canned.Record("a", """{"title":"apple"}""") + "]"));
        var point = Assert.Single(await h.Store.GetAsync(C, ["a"]));
        Assert.Empty(point.Vectors);
        Assert.Equal("""{"title":"apple"}""", point.Payload);
        AssertJson($$"""{"ids":["{{U("a")}}"],"with_payload":true,"with_vector":false}""", h.BodyOf("get_points"));
        h.AssertContract();
    }

    [Fact]
    public async Task Scroll_pages_by_our_own_ids()
    {
        using var h = new QdrantHarness();
        h.WithTestCollection().On("scroll_points",
            CannedResponse.Ok($$"""
                {"points":[{{Canned.Record("p1", "{}", """{"text":[1,0,0]}""")}},{{Canned.Record("p2", "{}", """{"text":[0,1,0]}""")}},{{Canned.Record("p3", "{}", """{"text":[0,0,1]}""")}}],
                 "next_page_offset":"{{U("p4")}}"}
                """),
            CannedResponse.Ok($$"""{"points":[{{Canned.Record("p3", """{"x":1}""")}}],"next_page_offset":null}"""));

        var first = await h.Store.ScrollAsync(C, new ScrollRequest(2) { WithPayload = false, WithVectors = true, Filter = Filter.All(new MatchBool("active", true)) });
        var second = await h.Store.ScrollAsync(C, new ScrollRequest(2) { Offset = first.NextOffset });

        Assert.Equal(["p1", "p2"], first.Points.Select(p => p.Id));
        Assert.Equal("p3", first.NextOffset);
        Assert.All(first.Points, p => Assert.Equal("{}", p.Payload));
        Assert.Equal([0f, 1f, 0f], first.Points[1].Vectors["text"]);
        Assert.Equal(["p3"], second.Points.Select(p => p.Id));
        Assert.Equal("""{"x":1}""", second.Points[0].Payload);
        Assert.Empty(second.Points[0].Vectors);
        Assert.Null(second.NextOffset);

        var calls = h.Handler.CallsTo("scroll_points").ToList();
        AssertJson("""{"limit":3,"filter":{"must":[{"key":"active","match":{"value":true}}]},"with_payload":["_pid"],"with_vector":true}""", calls[0].Json);
        AssertJson($$"""{"offset":"{{U("p3")}}","limit":3,"with_payload":true,"with_vector":false}""", calls[1].Json);
        h.AssertContract();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(10_001)]
    public async Task Scroll_limit_out_of_range_is_a_bad_request(int limit)
    {
        using var h = new QdrantHarness();
        var e = await Assert.ThrowsAsync<VectorStoreException>(() => h.Store.ScrollAsync(C, new ScrollRequest(limit)).AsTask());
        Assert.Equal(VectorStoreErrorKind.BadRequest, e.Kind);
        Assert.Contains("1..10000", e.Message, StringComparison.Ordinal);
        Assert.Empty(h.Handler.Calls);
    }

    // ---- search ----

    [Fact]
    public async Task Search_uses_the_query_api_and_maps_hits_back()
    {
        using var h = new QdrantHarness();
        h.WithTestCollection().On("query_points", CannedResponse.Ok(Canned.Points(
            Canned.Hit("emoji-1f457", 0.9731f, """{"title":"dress"}""", """{"image":[0.5,0.5,0.5,0.5],"text":[0,0,1]}"""),
            Canned.Hit("b", 0.25f, "{}", """{"image":[1,0,0,0]}"""))));

        var hits = await h.Store.SearchAsync(C, new SearchRequest("image", new[] { 1f, 0f, 0.5f, 0f }, 5)
        {
            Offset = 2,
            ScoreThreshold = 0.25f,
            Ef = 128,
            Exact = true,
            Filter = Filter.All(new MatchKeyword("category", "dress")),
            WithVectors = true,
        });

        AssertJson("""
            {"query":{"nearest":[1,0,0.5,0]},"using":"image",
             "filter":{"must":[{"key":"category","match":{"value":"dress"}}]},
             "params":{"hnsw_ef":128,"exact":true},"score_threshold":0.25,"limit":5,"offset":2,
             "with_payload":true,"with_vector":true}
            """, h.BodyOf("query_points"));
        Assert.Equal(["emoji-1f457", "b"], hits.Select(x => x.Id));
        Assert.Equal([0.9731f, 0.25f], hits.Select(x => x.Score));
        Assert.Equal("""{"title":"dress"}""", hits[0].Payload);
        Assert.Equal("{}", hits[1].Payload);
        Assert.Equal([0f, 0f, 1f], hits[0].Vectors!["text"]);
        h.AssertContract();
    }

    [Fact]
    public async Task Search_without_payload_still_maps_ids_back_and_returns_no_payload()
    {
        using var h = new QdrantHarness();
        // Euclid: Qdrant's score is the distance, passed through as the interface defines it.
        h.WithTestCollection().On("query_points", CannedResponse.Ok(Canned.Points(Canned.Hit("x", 0.5f), Canned.Hit("y", 2.25f))));

        var hits = await h.Store.SearchAsync(C, new SearchRequest("dist", new[] { 3f, 4f }, 10) { WithPayload = false });

        AssertJson("""{"query":{"nearest":[3,4]},"using":"dist","limit":10,"with_payload":["_pid"],"with_vector":false}""", h.BodyOf("query_points"));
        Assert.Equal(["x", "y"], hits.Select(x => x.Id));
        Assert.Equal([0.5f, 2.25f], hits.Select(x => x.Score));
        Assert.All(hits, x => Assert.Null(x.Payload));
        Assert.All(hits, x => Assert.Null(x.Vectors));
        h.AssertContract();
    }

    [Fact]
    public async Task A_hit_that_this_backend_did_not_write_comes_back_under_qdrants_id()
    {
        using var h = new QdrantHarness();
        h.WithTestCollection().On("query_points", CannedResponse.Ok("""
            {"points":[{"id":7,"version":0,"score":1.5,"payload":{"title":"foreign"}},
                       {"id":"6F9619FF-8B86-D011-B42D-00CF4FC964FF","version":0,"score":1.0,"payload":null}]}
            """));
        var hits = await h.Store.SearchAsync(C, new SearchRequest("text", new[] { 1f, 0f, 0f }, 2));
        Assert.Equal(["7", "6f9619ff-8b86-d011-b42d-00cf4fc964ff"], hits.Select(x => x.Id));
        Assert.Equal(["""{"title":"foreign"}""", "{}"], hits.Select(x => x.Payload));
        h.AssertContract();
    }

    public static TheoryData<string, string> BadSearches => new()
    {
        { "unknown-vector", "unknown named vector 'audio'" },
        { "wrong-dimension", "has dimension 4, got 2" },
        { "nan", "is NaN" },
        { "zero-cosine", "all zeros" },
        { "limit-0", "limit must be 1..10000, got 0" },
        { "limit-10001", "limit must be 1..10000, got 10001" },
        { "negative-offset", "offset must not be negative" },
        { "nan-threshold", "threshold must be a finite number" },
        { "ef-0", "ef must be at least 1" },
        { "bad-filter", "needs at least one bound" },
    };

    [Theory]
    [MemberData(nameof(BadSearches))]
    public async Task A_bad_search_is_rejected_before_sending(string kind, string expected)
    {
        using var h = new QdrantHarness();
        h.WithTestCollection();
        var ok = new SearchRequest("image", new[] { 1f, 0f, 0f, 0f }, 10);
        var request = kind switch
        {
            "unknown-vector" => ok with { Vector = "audio" },
            "wrong-dimension" => ok with { Query = new[] { 1f, 0f } },
            "nan" => ok with { Query = new[] { 1f, float.NaN, 0f, 0f } },
            "zero-cosine" => ok with { Query = new float[4] },
            "limit-0" => ok with { Limit = 0 },
            "limit-10001" => ok with { Limit = 10_001 },
            "negative-offset" => ok with { Offset = -1 },
            "nan-threshold" => ok with { ScoreThreshold = float.NaN },
            "ef-0" => ok with { Ef = 0 },
            "bad-filter" => ok with { Filter = Filter.All(new Range("price")) },
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };

        var e = await Assert.ThrowsAsync<VectorStoreException>(() => h.Store.SearchAsync(C, request).AsTask());

        Assert.Equal(VectorStoreErrorKind.BadRequest, e.Kind);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Empty(h.Handler.CallsTo("query_points"));
        h.AssertContract();
    }

    // ---- recommend ----

    [Fact]
    public async Task Recommend_average_vector_mixes_point_ids_and_raw_vectors_and_excludes_the_examples()
    {
        using var h = new QdrantHarness();
        h.WithTestCollection().On("query_points", CannedResponse.Ok(Canned.Points(
            Canned.Hit("c", 0.875f, """{"title":"cherry"}"""), Canned.Hit("d", 0.5f, """{"title":"date"}"""))));

        var hits = await h.Store.RecommendAsync(C, new RecommendRequest("image", 3)
        {
            Positive = ["a", RecommendExample.Of([0f, 1f, 0f, 0f])],
            Negative = ["b"],
            Filter = Filter.All(new MatchKeyword("category", "fruit")),
            ScoreThreshold = 0.1f,
            Ef = 64,
        });

        AssertJson($$$"""
            {"query":{"recommend":{"positive":["{{{U("a")}}}",[0,1,0,0]],"negative":["{{{U("b")}}}"],"strategy":"average_vector"}},
             "using":"image",
             "filter":{"must":[{"must":[{"key":"category","match":{"value":"fruit"}}]}],"must_not":[{"has_id":["{{{U("a")}}}","{{{U("b")}}}"]}]},
             "params":{"hnsw_ef":64},"score_threshold":0.1,"limit":3,"with_payload":true,"with_vector":false}
            """, h.BodyOf("query_points"));
        Assert.Equal(["c", "d"], hits.Select(x => x.Id));
        Assert.Equal([0.875f, 0.5f], hits.Select(x => x.Score));
        Assert.Equal("""{"title":"cherry"}""", hits[0].Payload);
        h.AssertContract();
    }

    [Fact]
    public async Task Recommend_best_score_passes_qdrants_sigmoid_scores_through_and_applies_the_threshold_to_them()
    {
        using var h = new QdrantHarness();
        // Qdrant scores ½(x/(1+|x|)+1) when a positive is nearest, its negation for the negative's x otherwise.
        static float Sigmoid(double x) => (float)(0.5 * (x / (1 + Math.Abs(x)) + 1));
        h.WithTestCollection().On("query_points", CannedResponse.Ok(Canned.Points(
            Canned.Hit("near-positive", Sigmoid(0.9)),
            Canned.Hit("near-negative", -Sigmoid(0.2)),
            Canned.Hit("nearer-negative", -Sigmoid(0.8)))));

        var hits = await h.Store.RecommendAsync(C, new RecommendRequest("text", 10)
        {
            Positive = [RecommendExample.Of([1f, 0f, 0f])],
            Negative = [RecommendExample.Of([0f, 1f, 0f])],
            Strategy = RecommendStrategy.BestScore,
            ScoreThreshold = -0.6f,
            WithPayload = false,
        });

        // No ids among the examples: no exclusion filter. The threshold is applied here, to the scores as Qdrant gives them.
        AssertJson("""
            {"query":{"recommend":{"positive":[[1,0,0]],"negative":[[0,1,0]],"strategy":"best_score"}},
             "using":"text","limit":10,"with_payload":["_pid"],"with_vector":false}
            """, h.BodyOf("query_points"));
        Assert.Equal(["near-positive", "near-negative"], hits.Select(x => x.Id));
        Assert.Equal(Sigmoid(0.9), hits[0].Score, 1e-5f);
        Assert.Equal(-Sigmoid(0.2), hits[1].Score, 1e-5f);
        h.AssertContract();
    }

    [Fact]
    public async Task Recommend_best_score_works_with_negative_examples_only()
    {
        using var h = new QdrantHarness();
        h.WithTestCollection().On("query_points", CannedResponse.Ok(Canned.Points()));
        var hits = await h.Store.RecommendAsync(C, new RecommendRequest("dist", 2) { Negative = ["z"], Strategy = RecommendStrategy.BestScore });
        Assert.Empty(hits);
        AssertJson($$$"""
            {"query":{"recommend":{"negative":["{{{U("z")}}}"],"strategy":"best_score"}},"using":"dist",
             "filter":{"must_not":[{"has_id":["{{{U("z")}}}"]}]},"limit":2,"with_payload":true,"with_vector":false}
            """, h.BodyOf("query_points"));
        h.AssertContract();
    }

    public static TheoryData<string, string> BadRecommendations => new()
    {
        { "average-without-positive", "needs at least one positive" },
        { "no-examples", "needs at least one example" },
        { "id-and-vector", "either a point id or a vector" },
        { "wrong-dimension", "has dimension 4, got 3" },
        { "unknown-vector", "unknown named vector 'audio'" },
        { "bad-id", "must not be empty" },
        { "limit", "limit must be 1..10000" },
    };

    [Theory]
    [MemberData(nameof(BadRecommendations))]
    public async Task A_bad_recommendation_is_rejected_before_sending(string kind, string expected)
    {
        using var h = new QdrantHarness();
        h.WithTestCollection();
        var ok = new RecommendRequest("image", 5) { Positive = ["a"] };
        var request = kind switch
        {
            "average-without-positive" => ok with { Positive = [], Negative = ["b"] },
            "no-examples" => ok with { Positive = [], Strategy = RecommendStrategy.BestScore },
            "id-and-vector" => ok with { Positive = [new RecommendExample { Id = "a", Vector = [1f, 0f, 0f, 0f] }] },
            "wrong-dimension" => ok with { Negative = [RecommendExample.Of([1f, 0f, 0f])] },
            "unknown-vector" => ok with { Vector = "audio" },
            "bad-id" => ok with { Positive = [""] },
            "limit" => ok with { Limit = 0 },
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };

        var e = await Assert.ThrowsAsync<VectorStoreException>(() => h.Store.RecommendAsync(C, request).AsTask());

        Assert.Equal(VectorStoreErrorKind.BadRequest, e.Kind);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Empty(h.Handler.CallsTo("query_points"));
        h.AssertContract();
    }

    [Fact]
    public async Task Recommend_from_a_missing_example_point_is_not_found_and_names_our_id()
    {
        using var h = new QdrantHarness();
        h.WithTestCollection().On("query_points", CannedResponse.Error(404, $"Not found: No point with id {U("ghost")} found"));
        var e = await Assert.ThrowsAsync<VectorStoreException>(() =>
            h.Store.RecommendAsync(C, new RecommendRequest("image", 5) { Positive = ["a", "ghost"] }).AsTask());
        Assert.Equal(VectorStoreErrorKind.NotFound, e.Kind);
        Assert.Contains("'ghost'", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(U("ghost"), e.Message, StringComparison.Ordinal);
        h.AssertContract();
    }

    [Fact]
    public async Task Other_errors_about_an_example_point_name_our_id_and_keep_their_kind()
    {
        using var h = new QdrantHarness();
        h.WithTestCollection().On("query_points",
            CannedResponse.Error(400, $"Wrong input: Vector with name `text` is not found in point {U("half")}"));
        var e = await Assert.ThrowsAsync<VectorStoreException>(() =>
            h.Store.RecommendAsync(C, new RecommendRequest("text", 5) { Positive = ["half"] }).AsTask());
        Assert.Equal(VectorStoreErrorKind.BadRequest, e.Kind);
        Assert.Contains("point 'half'", e.Message, StringComparison.Ordinal);
        h.AssertContract();
    }

    [Fact]
    public async Task A_request_too_large_for_Qdrant_is_a_bad_request_that_says_so()
    {
        using var h = new QdrantHarness();
        h.WithTestCollection().On("upsert_points", CannedResponse.Error(413, "Payload too large"));
        var e = await Assert.ThrowsAsync<VectorStoreException>(() =>
            h.Store.UpsertAsync(C, [new VectorPoint("a", new Dictionary<string, float[]> { ["text"] = [1f, 0f, 0f] })]).AsTask());
        Assert.Equal(VectorStoreErrorKind.BadRequest, e.Kind);
        Assert.Contains("max_request_size_mb", e.Message, StringComparison.Ordinal);
        h.AssertContract();
    }

    // ---- errors ----

    public static TheoryData<string> EveryOperation => new()
    {
        "upsert", "delete-ids", "delete-filter", "get", "count", "scroll", "search", "recommend",
    };

    private static Task Run(IVectorStore store, string operation) => operation switch
    {
        "upsert" => store.UpsertAsync(C, [new VectorPoint("a", new Dictionary<string, float[]> { ["text"] = [1f, 0f, 0f] })]).AsTask(),
        "delete-ids" => store.DeleteAsync(C, ["a"]).AsTask(),
        "delete-filter" => store.DeleteAsync(C, Filter.All(new MatchBool("x", true))).AsTask(),
        "get" => store.GetAsync(C, ["a"]).AsTask(),
        "count" => store.CountAsync(C).AsTask(),
        "scroll" => store.ScrollAsync(C, new ScrollRequest()).AsTask(),
        "search" => store.SearchAsync(C, new SearchRequest("text", new[] { 1f, 0f, 0f }, 3)).AsTask(),
        "recommend" => store.RecommendAsync(C, new RecommendRequest("text", 3) { Positive = ["a"] }).AsTask(),
        _ => throw new ArgumentOutOfRangeException(nameof(operation)),
    };

    private static readonly Dictionary<string, string> OperationIds = new()
    {
        ["upsert"] = "upsert_points", ["delete-ids"] = "delete_points", ["delete-filter"] = "delete_points",
        ["get"] = "get_points", ["count"] = "count_points", ["scroll"] = "scroll_points",
        ["search"] = "query_points", ["recommend"] = "query_points",
    };

    [Theory]
    [MemberData(nameof(EveryOperation))]
    public async Task An_unknown_collection_is_not_found_before_any_point_request(string operation)
    {
        using var h = new QdrantHarness();
        h.On("get_collection", Missing);
        var e = await Assert.ThrowsAsync<VectorStoreException>(() => Run(h.Store, operation));
        Assert.Equal(VectorStoreErrorKind.NotFound, e.Kind);
        Assert.Contains($"collection '{C}'", e.Message, StringComparison.Ordinal);
        Assert.Single(h.Handler.Calls);
        h.AssertContract();
    }

    [Theory]
    [MemberData(nameof(EveryOperation))]
    public async Task Qdrant_errors_map_to_error_kinds_for_every_operation(string operation)
    {
        var cases = new (CannedResponse Response, VectorStoreErrorKind Kind, string Text)[]
        {
            (CannedResponse.Error(400, "Wrong input: Vector dimension error: expected dim: 3, got 2"), VectorStoreErrorKind.BadRequest, "Wrong input: Vector dimension error"),
            (CannedResponse.Error(422, "Validation error in JSON body: [limit: value 0 invalid, must be 1 or larger]"), VectorStoreErrorKind.BadRequest, "Validation error in JSON body"),
            (CannedResponse.Error(404, "Not found: Collection `products` doesn't exist!"), VectorStoreErrorKind.NotFound, "doesn't exist"),
            (CannedResponse.Error(500, "Service internal error: 1 of 1 read operations failed"), VectorStoreErrorKind.Unavailable, "http://qdrant.test:6333/collections/products/points"),
            (CannedResponse.Error(503, "Service unavailable"), VectorStoreErrorKind.Unavailable, "503"),
            (CannedResponse.Fail(new HttpRequestException("Connection refused (qdrant.test:6333)")), VectorStoreErrorKind.Unavailable, "cannot be reached"),
            (CannedResponse.Fail(new TaskCanceledException("The request was canceled due to the configured HttpClient.Timeout")), VectorStoreErrorKind.Unavailable, "did not answer"),
        };
        foreach (var (response, kind, text) in cases)
        {
            using var h = new QdrantHarness();
            h.WithTestCollection().On(OperationIds[operation], response);
            var e = await Assert.ThrowsAsync<VectorStoreException>(() => Run(h.Store, operation));
            Assert.Equal(kind, e.Kind);
            Assert.Contains(text, e.Message, StringComparison.Ordinal);
            h.AssertContract();
        }
    }

    [Fact]
    public async Task A_rejected_request_drops_the_cached_schema()
    {
        using var h = new QdrantHarness();
        h.WithTestCollection().WithTestCollection();
        h.On("count_points", CannedResponse.Error(400, "Wrong input: bad request"), CannedResponse.Ok("""{"count":5}"""));
        await Assert.ThrowsAsync<VectorStoreException>(() => h.Store.CountAsync(C).AsTask());
        Assert.Equal(5, await h.Store.CountAsync(C));
        Assert.Equal(2, h.Handler.CallsTo("get_collection").Count());
        h.AssertContract();
    }

    [Fact]
    public async Task A_cancelled_call_is_cancelled_not_unavailable()
    {
        using var h = new QdrantHarness();
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => h.Store.ListCollectionsAsync(cts.Token).AsTask());
    }

    [Fact]
    public async Task A_response_of_an_unexpected_shape_is_unavailable()
    {
        using var h = new QdrantHarness();
        // Valid by the spec (the envelope requires nothing) but without a result: not an answer we can use.
        h.On("get_collections", new CannedResponse(200, """{"status":"ok","time":0.1}"""));
        var e = await Assert.ThrowsAsync<VectorStoreException>(() => h.Store.ListCollectionsAsync().AsTask());
        Assert.Equal(VectorStoreErrorKind.Unavailable, e.Kind);
        h.AssertContract();
    }

    // ---- ids ----

    [Theory]
    // Expected values from Python's uuid.uuid5 with the same namespace: an independent implementation.
    [InlineData("emoji-1f457", "8f1901eb-010c-5a5d-be86-a7f4c62c7ddf")]
    [InlineData("a", "f36d455d-e678-566e-8d95-28118685eb2f")]
    [InlineData("连衣裙", "7e56a8b3-28fe-532f-8d2d-4be22f0d1a96")]
    [InlineData("00000000-0000-0000-0000-000000000000", "1a8588c8-6818-5948-9a99-2b3e0c5383b3")]
    public void Ids_map_to_version_5_uuids(string id, string expected)
    {
        Assert.Equal(new Guid("3f0c2b9e-6a47-4d1e-9a55-1c8e0b7d2f61"), QdrantPointId.Namespace);
        Assert.Equal(expected, QdrantPointId.For(id));
    }

    [Fact]
    public void The_longest_id_maps_too()
    {
        Assert.Equal("1f8cf352-3515-5e06-a22d-af2b7760af86", QdrantPointId.For(new string('x', 256)));
        Assert.False(QdrantPointId.IsMappable("a\udc00"));
    }
}
