using Platform.VectorStore.Qdrant;

namespace Platform.VectorStore.Tests.Qdrant;

/// <summary>What the Qdrant backend refuses before sending anything, and how it says so.</summary>
public sealed class QdrantValidationTests
{
    private static readonly CollectionSchema Schema = new(new Dictionary<string, VectorParams>
    {
        ["image"] = new(4, Distance.Cosine),
        ["text"] = new(3, Distance.Dot),
    })
    {
        SparseVectors = new Dictionary<string, SparseVectorParams> { ["terms"] = new(Idf: true) },
    };

    private static VectorPoint Good(string id) => new(id, new Dictionary<string, float[]> { ["text"] = [1, 2, 3] }, """{"i":1}""");

    private static VectorStoreException Fails(Action call, params string[] mentions)
    {
        var e = Assert.Throws<VectorStoreException>(call);
        Assert.Equal(VectorStoreErrorKind.BadRequest, e.Kind);
        foreach (var mention in mentions)
            Assert.True(e.Message.Contains(mention, StringComparison.OrdinalIgnoreCase), $"the message should mention '{mention}': {e.Message}");
        return e;
    }

    public static TheoryData<string, string> BadPoints => new()
    {
        { "wrong dimension", "dimension 3, got 2" },
        { "NaN", "NaN" },
        { "unknown vector", "'audio'" },
        { "zero cosine vector", "all zeros" },
        { "no vectors", "no vectors" },
        { "payload not an object", "payload" },
        { "reserved payload key", "'_pid' is reserved" },
        { "unknown sparse vector", "unknown named sparse vector 'bm25'" },
        { "repeated sparse index", "repeats index 7" },
        { "sparse lengths differ", "2 indices but 1 values" },
        { "sparse value infinite", "must be finite" },
    };

    private static VectorPoint Bad(string kind) => kind switch
    {
        "wrong dimension" => new("culprit", new Dictionary<string, float[]> { ["text"] = [1, 2] }),
        "NaN" => new("culprit", new Dictionary<string, float[]> { ["text"] = [1, float.NaN, 3] }),
        "unknown vector" => new("culprit", new Dictionary<string, float[]> { ["audio"] = [1, 2, 3] }),
        "zero cosine vector" => new("culprit", new Dictionary<string, float[]> { ["image"] = [0, 0, 0, 0] }),
        "no vectors" => new("culprit", new Dictionary<string, float[]>()),
        "payload not an object" => new("culprit", new Dictionary<string, float[]> { ["text"] = [1, 2, 3] }, "[1]"),
        "reserved payload key" => new("culprit", new Dictionary<string, float[]> { ["text"] = [1, 2, 3] }, """{"_pid":"x"}"""),
        "unknown sparse vector" => new("culprit", new Dictionary<string, float[]>()) { Sparse = new Dictionary<string, SparseVector> { ["bm25"] = new([1], [1f]) } },
        "repeated sparse index" => new("culprit", new Dictionary<string, float[]>()) { Sparse = new Dictionary<string, SparseVector> { ["terms"] = new([7, 1, 7], [1f, 1f, 1f]) } },
        "sparse lengths differ" => new("culprit", new Dictionary<string, float[]>()) { Sparse = new Dictionary<string, SparseVector> { ["terms"] = new([1, 2], [1f]) } },
        "sparse value infinite" => new("culprit", new Dictionary<string, float[]>()) { Sparse = new Dictionary<string, SparseVector> { ["terms"] = new([1], [float.PositiveInfinity]) } },
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    [Theory]
    [MemberData(nameof(BadPoints))]
    public void A_batch_with_one_bad_point_is_refused_naming_that_point(string kind, string expected)
    {
        Fails(() => QdrantValidation.Points(Schema, [Good("a"), Good("b"), Bad(kind), Good("c")]), "point 'culprit'", expected);
    }

    [Fact]
    public void A_point_with_only_a_sparse_vector_is_fine_and_payloads_come_back_parsed()
    {
        var sparseOnly = new VectorPoint("s", new Dictionary<string, float[]>()) { Sparse = new Dictionary<string, SparseVector> { ["terms"] = new([3, 1], [0.5f, 2f]) } };
        var payloads = QdrantValidation.Points(Schema, [Good("a"), sparseOnly]);
        try
        {
            Assert.Equal(2, payloads.Length);
            Assert.Equal(1, payloads[0].RootElement.GetProperty("i").GetInt32());
        }
        finally
        {
            foreach (var p in payloads)
                p.Dispose();
        }
    }

    [Fact]
    public void A_sparse_vector_may_have_at_most_the_maximum_entries()
    {
        var indices = Enumerable.Range(0, SparseVector.MaxEntries + 1).Select(i => (uint)i).ToArray();
        var tooMany = new SparseVector(indices, new float[indices.Length]);
        Fails(() => QdrantValidation.Sparse(Schema, "terms", tooMany, "query"), $"at most {SparseVector.MaxEntries}");
        QdrantValidation.Sparse(Schema, "terms", new SparseVector(indices[..^1], new float[indices.Length - 1]), "query");
    }

    [Fact]
    public void Ids_must_be_1_to_256_characters_of_valid_unicode()
    {
        Fails(() => QdrantValidation.Id("", "id"), "empty");
        Fails(() => QdrantValidation.Id(new string('x', 257), "id"), "1..256");
        Fails(() => QdrantValidation.Id("a\ud800", "id"), "surrogate");
        QdrantValidation.Id(new string('x', 256), "id");
    }

    [Fact]
    public void Searches_are_checked_against_the_schema_and_limits()
    {
        Fails(() => QdrantValidation.Search(Schema, new SearchRequest("text", new float[] { 1, 2 }, 5)), "dimension 3");
        Fails(() => QdrantValidation.Search(Schema, new SearchRequest("audio", new float[] { 1, 2, 3 }, 5)), "'audio'");
        Fails(() => QdrantValidation.Search(Schema, new SearchRequest("text", new float[] { 1, 2, 3 }, 0)), "limit");
        Fails(() => QdrantValidation.Search(Schema, new SearchRequest("text", new float[] { 1, 2, 3 }, 10_001)), "limit");
        Fails(() => QdrantValidation.Search(Schema, new SearchRequest("text", new float[] { 1, 2, 3 }, 5) { Offset = -1 }), "offset");
        Fails(() => QdrantValidation.Search(Schema, new SearchRequest("text", new float[] { 1, 2, 3 }, 5) { ScoreThreshold = float.NaN }), "threshold");
        Fails(() => QdrantValidation.Search(Schema, new SearchRequest("text", new float[] { 1, 2, 3 }, 5) { Ef = 0 }), "ef");
        Fails(() => QdrantValidation.Search(Schema, new SearchRequest("text", new float[] { 1, 2, 3 }, 5) { Filter = Filter.All(new Range("p")) }), "at least one bound");
        QdrantValidation.Search(Schema, new SearchRequest("text", new float[] { 1, 2, 3 }, 10_000));
    }

    [Fact]
    public void Sparse_searches_need_a_sparse_space_of_the_collection()
    {
        Fails(() => QdrantValidation.SparseSearch(Schema, new SparseSearchRequest("text", new SparseVector([1], [1f]), 5)), "unknown named sparse vector 'text'", "'terms'");
        Fails(() => QdrantValidation.SparseSearch(Schema, new SparseSearchRequest("terms", new SparseVector([1, 1], [1f, 2f]), 5)), "repeats index 1");
        Fails(() => QdrantValidation.SparseSearch(Schema, new SparseSearchRequest("terms", new SparseVector([1], [1f]), 0)), "limit");
        var dense = new CollectionSchema(new Dictionary<string, VectorParams> { ["v"] = new(2, Distance.Dot) });
        Fails(() => QdrantValidation.SparseSearch(dense, new SparseSearchRequest("terms", new SparseVector([1], [1f]), 5)), "no sparse vectors");
    }

    [Fact]
    public void Sparse_schemas_need_valid_names_that_no_dense_space_uses()
    {
        var clash = new CollectionSchema(new Dictionary<string, VectorParams> { ["v"] = new(2, Distance.Dot) })
        {
            SparseVectors = new Dictionary<string, SparseVectorParams> { ["v"] = new() },
        };
        Fails(() => QdrantValidation.SparseSchema(clash), "'v'", "must not repeat");
        var badName = new CollectionSchema(new Dictionary<string, VectorParams> { ["v"] = new(2, Distance.Dot) })
        {
            SparseVectors = new Dictionary<string, SparseVectorParams> { ["no spaces"] = new() },
        };
        Fails(() => QdrantValidation.SparseSchema(badName), "'no spaces'");
    }

    [Fact]
    public void Recommendations_are_checked_and_name_their_example_points()
    {
        Fails(() => QdrantValidation.Recommend(Schema, new RecommendRequest("text", 3)), "at least one positive");
        Fails(() => QdrantValidation.Recommend(Schema, new RecommendRequest("text", 3) { Strategy = RecommendStrategy.BestScore }), "at least one example");
        Fails(() => QdrantValidation.Recommend(Schema, new RecommendRequest("audio", 3) { Positive = ["a"] }), "recommend", "'audio'");
        Fails(() => QdrantValidation.Recommend(Schema, new RecommendRequest("text", 3) { Positive = [new RecommendExample()] }), "positive[0]", "either a point id or a vector");
        Fails(() => QdrantValidation.Recommend(Schema, new RecommendRequest("text", 3) { Positive = ["a"], Negative = [RecommendExample.Of([1, 2])] }), "negative[0]", "dimension 3");
        Fails(() => QdrantValidation.Recommend(Schema, new RecommendRequest("text", 3) { Positive = ["a"], Strategy = (RecommendStrategy)9 }), "strategy");

        var ids = QdrantValidation.Recommend(Schema, new RecommendRequest("text", 3) { Positive = ["a", RecommendExample.Of([1, 2, 3])], Negative = ["b"] });
        Assert.Equal("a", ids[QdrantPointId.For("a")]);
        Assert.Equal("b", ids[QdrantPointId.For("b").ToUpperInvariant()]);
        Assert.Equal(2, ids.Count);
    }

    [Fact]
    public void Scrolls_are_checked_for_limit_offset_and_filter()
    {
        Fails(() => QdrantValidation.Scroll(new ScrollRequest(0)), "limit");
        Fails(() => QdrantValidation.Scroll(new ScrollRequest(10) { Offset = "" }), "scroll offset");
        Fails(() => QdrantValidation.Scroll(new ScrollRequest(10) { Filter = Filter.All(new MatchKeyword("", "x")) }), "key");
        QdrantValidation.Scroll(new ScrollRequest(10_000) { Offset = "p1" });
    }
}
