using System.Text.RegularExpressions;

namespace Platform.VectorStore.Tests.Behaviour;

public abstract partial class VectorStoreBehaviour
{
    /// <summary>Sizes no collection name (hex) or other number in a message is likely to contain by chance.</summary>
    private static readonly CollectionSchema OddSizes = Schema(("image", 13, Distance.Cosine), ("text", 5, Distance.Dot));

    private static float[] Filled(int size, float value = 0.5f) => Enumerable.Repeat(value, size).ToArray();

    private static void AssertMentionsNumber(VectorStoreException error, int number) =>
        Assert.True(Regex.IsMatch(error.Message, $"(?<![0-9A-Za-z.]){number}(?![0-9A-Za-z])"), $"the message should mention {number}: {error.Message}");

    private static void AssertMentionsPattern(VectorStoreException error, string pattern, string what) =>
        Assert.True(Regex.IsMatch(error.Message, pattern, RegexOptions.IgnoreCase), $"the message should say {what}: {error.Message}");

    [Fact]
    public async Task A_vector_of_the_wrong_dimension_is_a_bad_request_that_says_expected_and_actual()
    {
        var c = await NewCollectionAsync(OddSizes);

        var upsert = await AssertFailsAsync(VectorStoreErrorKind.BadRequest,
            async () => await Store.UpsertAsync(c, [Point("a", "{}", ("image", Filled(29)))]), "image");
        AssertMentionsNumber(upsert, 13);
        AssertMentionsNumber(upsert, 29);

        var search = await AssertFailsAsync(VectorStoreErrorKind.BadRequest,
            async () => await Store.SearchAsync(c, new SearchRequest("image", Filled(29), 3)));
        AssertMentionsNumber(search, 13);
        AssertMentionsNumber(search, 29);

        var recommend = await AssertFailsAsync(VectorStoreErrorKind.BadRequest,
            async () => await Store.RecommendAsync(c, new RecommendRequest("text", 3) { Positive = [RecommendExample.Of(Filled(31))] }));
        AssertMentionsNumber(recommend, 5);
        AssertMentionsNumber(recommend, 31);
        Assert.Equal(0, await Store.CountAsync(c));
    }

    public static TheoryData<float> NonFinite => [float.NaN, float.PositiveInfinity, float.NegativeInfinity];

    [Theory]
    [MemberData(nameof(NonFinite))]
    public async Task NaN_and_infinite_components_are_bad_requests(float value)
    {
        var c = await NewCollectionAsync(OddSizes);
        var vector = Filled(5);
        vector[3] = value;
        var pattern = float.IsNaN(value) ? "nan|finite" : "inf|finite";

        foreach (var name in new[] { "text", "image" })
        {
            var v = name == "text" ? vector : [.. Filled(12), value];
            var upsert = await AssertFailsAsync(VectorStoreErrorKind.BadRequest, async () => await Store.UpsertAsync(c, [Point("a", "{}", (name, v))]));
            AssertMentionsPattern(upsert, pattern, $"the vector has a {value} component");
            var search = await AssertFailsAsync(VectorStoreErrorKind.BadRequest, async () => await Store.SearchAsync(c, new SearchRequest(name, v, 3)));
            AssertMentionsPattern(search, pattern, $"the query has a {value} component");
        }
        Assert.Equal(0, await Store.CountAsync(c));
    }

    [Fact]
    public async Task An_unknown_named_vector_is_a_bad_request_that_names_it()
    {
        var c = await NewCollectionAsync(OddSizes);

        await AssertFailsAsync(VectorStoreErrorKind.BadRequest, async () => await Store.UpsertAsync(c, [Point("a", "{}", ("text", Filled(5)), ("audio", Filled(5)))]), "audio");
        await AssertFailsAsync(VectorStoreErrorKind.BadRequest, async () => await Store.SearchAsync(c, new SearchRequest("audio", Filled(5), 3)), "audio");
        Assert.Equal(0, await Store.CountAsync(c));
    }

    [Fact]
    public async Task An_all_zero_cosine_vector_is_a_bad_request_but_zero_dot_and_euclid_vectors_are_fine()
    {
        var c = await NewCollectionAsync(Schema(("cos", 3, Distance.Cosine), ("dot", 3, Distance.Dot), ("l2", 3, Distance.Euclid)));

        var error = await AssertFailsAsync(VectorStoreErrorKind.BadRequest, async () => await Store.UpsertAsync(c, [Point("z", "{}", ("cos", [0f, 0f, 0f]))]), "zero");
        Assert.Contains("cos", error.Message, StringComparison.Ordinal);
        await Store.UpsertAsync(c, [Point("z", "{}", ("dot", [0f, 0f, 0f]), ("l2", [0f, 0f, 0f]))]);

        var got = Assert.Single(await Store.GetAsync(c, ["z"], withVectors: true));
        Assert.Equal([0f, 0f, 0f], got.Vectors["dot"]);
        Assert.Equal(0f, Assert.Single(await Store.SearchAsync(c, new SearchRequest("dot", new float[] { 1, 2, 3 }, 1))).Score);
        Assert.Equal((float)Math.Sqrt(14), Assert.Single(await Store.SearchAsync(c, new SearchRequest("l2", new float[] { 1, 2, 3 }, 1))).Score, 1e-5f);
    }

    [Fact]
    public async Task A_point_without_vectors_is_a_bad_request()
    {
        var c = await NewCollectionAsync(OddSizes);

        await AssertFailsAsync(VectorStoreErrorKind.BadRequest, async () => await Store.UpsertAsync(c, [new VectorPoint("a", new Dictionary<string, float[]>())]));
        Assert.Equal(0, await Store.CountAsync(c));
    }

    public static TheoryData<string> BadIds => ["", new string('x', 257)];

    [Theory]
    [MemberData(nameof(BadIds))]
    public async Task An_empty_or_overlong_id_is_a_bad_request(string id)
    {
        var c = await NewCollectionAsync(OddSizes);

        await AssertFailsAsync(VectorStoreErrorKind.BadRequest, async () => await Store.UpsertAsync(c, [Point(id, "{}", ("text", Filled(5)))]), "id");
        Assert.Equal(0, await Store.CountAsync(c));
    }

    public static TheoryData<string> BadPayloads => ["[1,2]", "42", "\"text\"", "null", "true", "{", "", "not json", """{"a":1} {"b":2}""", """{"a":1,}"""];

    [Theory]
    [MemberData(nameof(BadPayloads))]
    public async Task A_payload_that_is_not_a_json_object_is_a_bad_request(string payload)
    {
        var c = await NewCollectionAsync(OddSizes);

        await AssertFailsAsync(VectorStoreErrorKind.BadRequest, async () => await Store.UpsertAsync(c, [Point("a", payload, ("text", Filled(5)))]), "payload");
        Assert.Equal(0, await Store.CountAsync(c));
    }

    [Fact]
    public async Task Limits_outside_1_to_10000_and_negative_offsets_are_bad_requests()
    {
        var c = await NewCollectionAsync(OddSizes);
        await Store.UpsertAsync(c, [Point("a", "{}", ("text", Filled(5)))]);
        var query = Filled(5);

        await AssertFailsAsync(VectorStoreErrorKind.BadRequest, async () => await Store.SearchAsync(c, new SearchRequest("text", query, 0)), "limit");
        await AssertFailsAsync(VectorStoreErrorKind.BadRequest, async () => await Store.SearchAsync(c, new SearchRequest("text", query, -1)), "limit");
        await AssertFailsAsync(VectorStoreErrorKind.BadRequest, async () => await Store.SearchAsync(c, new SearchRequest("text", query, 10_001)), "limit");
        await AssertFailsAsync(VectorStoreErrorKind.BadRequest, async () => await Store.SearchAsync(c, new SearchRequest("text", query, 5) { Offset = -1 }), "offset");
        await AssertFailsAsync(VectorStoreErrorKind.BadRequest, async () => await Store.RecommendAsync(c, new RecommendRequest("text", 0) { Positive = ["a"] }), "limit");
        await AssertFailsAsync(VectorStoreErrorKind.BadRequest, async () => await Store.ScrollAsync(c, new ScrollRequest(0)), "limit");
        await AssertFailsAsync(VectorStoreErrorKind.BadRequest, async () => await Store.ScrollAsync(c, new ScrollRequest(10_001)), "limit");
        Assert.Single(await Store.SearchAsync(c, new SearchRequest("text", query, 10_000)));
    }

    public static TheoryData<string> BadPointKinds => ["wrong dimension", "NaN", "infinity", "unknown vector", "zero cosine vector", "empty id", "payload not an object", "no vectors"];

    private static VectorPoint BadPoint(string kind, string id) => kind switch
    {
        "wrong dimension" => Point(id, "{}", ("image", Filled(12))),
        "NaN" => Point(id, "{}", ("text", [1f, 2f, float.NaN, 4f, 5f])),
        "infinity" => Point(id, "{}", ("image", [.. Filled(12), float.PositiveInfinity])),
        "unknown vector" => Point(id, "{}", ("text", Filled(5)), ("sound", Filled(5))),
        "zero cosine vector" => Point(id, "{}", ("image", Filled(13, 0f))),
        "empty id" => Point("", "{}", ("text", Filled(5))),
        "payload not an object" => Point(id, "[\"a\"]", ("text", Filled(5))),
        _ => new VectorPoint(id, new Dictionary<string, float[]>()),
    };

    [Theory]
    [MemberData(nameof(BadPointKinds))]
    public async Task A_batch_with_one_bad_point_stores_none_of_it(string kind)
    {
        var c = await NewCollectionAsync(OddSizes);
        await Store.UpsertAsync(c, [Point("keep", """{"version":1}""", ("text", [1f, 1f, 1f, 1f, 1f]))]);
        var batch = Enumerable.Range(0, 10).Select(i => Point($"new-{i}", "{}", ("text", Filled(5, i + 1f)), ("image", Filled(13, i + 1f)))).ToList();
        batch.Insert(4, Point("keep", """{"version":2}""", ("text", [2f, 2f, 2f, 2f, 2f])));
        batch.Insert(7, BadPoint(kind, "bad-point-x"));

        await AssertFailsAsync(VectorStoreErrorKind.BadRequest, async () => await Store.UpsertAsync(c, batch));

        Assert.Equal(1, await Store.CountAsync(c));
        Assert.Empty(await Store.GetAsync(c, [.. batch.Select(p => p.Id).Where(id => id is not ("keep" or ""))]));
        var keep = Assert.Single(await Store.GetAsync(c, ["keep"], withVectors: true));
        Payloads.AssertSame("""{"version":1}""", keep.Payload);
        Assert.Equal([1f, 1f, 1f, 1f, 1f], keep.Vectors["text"]);
        Assert.Equal(["keep"], (await Store.SearchAsync(c, new SearchRequest("text", Filled(5), 10))).Select(h => h.Id));
        Assert.Empty(await Store.SearchAsync(c, new SearchRequest("image", Filled(13), 10)));
    }

    public static TheoryData<string> NamedBadPointKinds => ["wrong dimension", "NaN", "infinity", "unknown vector", "zero cosine vector", "payload not an object", "no vectors"];

    [Theory]
    [MemberData(nameof(NamedBadPointKinds))]
    public async Task The_error_for_a_bad_point_in_a_batch_names_that_point(string kind)
    {
        var c = await NewCollectionAsync(OddSizes);
        var batch = Enumerable.Range(0, 5).Select(i => Point($"good-{i}", "{}", ("text", Filled(5)))).ToList();
        batch.Insert(3, BadPoint(kind, "culprit-42"));

        await AssertFailsAsync(VectorStoreErrorKind.BadRequest, async () => await Store.UpsertAsync(c, batch), "culprit-42");
    }
}
