using System.Text.Json;
using Platform.VectorStore.Qdrant;
using G = Qdrant.Client.Grpc;

namespace Platform.VectorStore.Tests.Qdrant;

/// <summary>The protobuf requests built for Qdrant, field by field, without a server.</summary>
public sealed class QdrantRequestsTests
{
    private static readonly CollectionSchema TestSchema = new(new Dictionary<string, VectorParams>
    {
        ["image"] = new(4, Distance.Cosine),
        ["text"] = new(3, Distance.Dot),
        ["dist"] = new(2, Distance.Euclid),
    })
    {
        SparseVectors = new Dictionary<string, SparseVectorParams> { ["terms"] = new(Idf: true), ["tags"] = new() },
    };

    private static string Uuid(string id) => QdrantPointId.For(id);

    // ---- collections ----

    [Fact]
    public void Create_collection_has_one_named_dense_space_per_vector_and_sparse_spaces_with_their_modifier()
    {
        var request = QdrantRequests.CreateCollection("products", TestSchema);

        Assert.Equal("products", request.CollectionName);
        Assert.Equal(G.VectorsConfig.ConfigOneofCase.ParamsMap, request.VectorsConfig.ConfigCase);
        var map = request.VectorsConfig.ParamsMap.Map;
        Assert.Equal(["dist", "image", "text"], map.Keys.Order(StringComparer.Ordinal));
        Assert.Equal((4ul, G.Distance.Cosine), (map["image"].Size, map["image"].Distance));
        Assert.Equal((3ul, G.Distance.Dot), (map["text"].Size, map["text"].Distance));
        Assert.Equal((2ul, G.Distance.Euclid), (map["dist"].Size, map["dist"].Distance));

        var sparse = request.SparseVectorsConfig.Map;
        Assert.Equal(["tags", "terms"], sparse.Keys.Order(StringComparer.Ordinal));
        Assert.True(sparse["terms"].HasModifier);
        Assert.Equal(G.Modifier.Idf, sparse["terms"].Modifier);
        Assert.False(sparse["tags"].HasModifier);
    }

    [Fact]
    public void A_collection_without_sparse_spaces_sends_no_sparse_config()
    {
        var request = QdrantRequests.CreateCollection("c", new CollectionSchema(new Dictionary<string, VectorParams> { ["v"] = new(8, Distance.Dot) }));
        Assert.Null(request.SparseVectorsConfig);
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
        var pointId = QdrantRequests.PointId(id);
        Assert.Equal(G.PointId.PointIdOptionsOneofCase.Uuid, pointId.PointIdOptionsCase);
        Assert.Equal(expected, pointId.Uuid);
    }

    [Fact]
    public void The_longest_id_maps_too_and_a_lone_surrogate_does_not()
    {
        Assert.Equal("1f8cf352-3515-5e06-a22d-af2b7760af86", QdrantPointId.For(new string('x', 256)));
        Assert.False(QdrantPointId.IsMappable("a\udc00"));
    }

    // ---- points ----

    [Fact]
    public void Upsert_waits_and_sends_uuid_ids_named_dense_and_sparse_vectors_and_the_original_id_in_the_payload()
    {
        VectorPoint[] points =
        [
            new("shoe-1", new Dictionary<string, float[]> { ["image"] = [1, 0, 0, 0], ["text"] = [0.5f, -2, 3] }, """{"title":"跑步鞋","price":59.5}""")
            {
                Sparse = new Dictionary<string, SparseVector> { ["terms"] = new([7, 3], [2f, 1f]) },
            },
            new("shoe-2", new Dictionary<string, float[]> { ["dist"] = [0, 0] }),
        ];
        using var p0 = JsonDocument.Parse(points[0].Payload);
        using var p1 = JsonDocument.Parse(points[1].Payload);

        var request = QdrantRequests.Upsert("products", TestSchema, points, [p0, p1]);

        Assert.Equal("products", request.CollectionName);
        Assert.True(request.HasWait && request.Wait, "an upsert must wait for the write to be applied");
        Assert.Equal(2, request.Points.Count);

        var first = request.Points[0];
        Assert.Equal(Uuid("shoe-1"), first.Id.Uuid);
        Assert.Equal(G.Vectors.VectorsOptionsOneofCase.Vectors_, first.Vectors.VectorsOptionsCase);
        var named = first.Vectors.Vectors_.Vectors;
        Assert.Equal(["image", "terms", "text"], named.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(G.Vector.VectorOneofCase.Dense, named["image"].VectorCase);
        Assert.Equal([1f, 0, 0, 0], named["image"].Dense.Data);
        Assert.Equal([0.5f, -2, 3], named["text"].Dense.Data);
        Assert.Equal(G.Vector.VectorOneofCase.Sparse, named["terms"].VectorCase);
        Assert.Equal([7u, 3u], named["terms"].Sparse.Indices);
        Assert.Equal([2f, 1f], named["terms"].Sparse.Values);
        Assert.Equal(["_pid", "title", "price"], first.Payload.Keys);
        Assert.Equal("shoe-1", first.Payload["_pid"].StringValue);
        Assert.Equal("跑步鞋", first.Payload["title"].StringValue);
        Assert.Equal(59.5, first.Payload["price"].DoubleValue);

        var second = request.Points[1];
        Assert.Equal(Uuid("shoe-2"), second.Id.Uuid);
        Assert.Equal(["dist"], second.Vectors.Vectors_.Vectors.Keys);
        Assert.Equal(["_pid"], second.Payload.Keys);
    }

    [Fact]
    public void Upsert_into_an_unnamed_vector_collection_sends_a_plain_vector()
    {
        var unnamed = new CollectionSchema(new Dictionary<string, VectorParams> { [""] = new(2, Distance.Dot) });
        VectorPoint[] points = [new("a", new Dictionary<string, float[]> { [""] = [1, 2] })];
        using var payload = JsonDocument.Parse("{}");

        var request = QdrantRequests.Upsert("legacy", unnamed, points, [payload]);

        var vectors = request.Points[0].Vectors;
        Assert.Equal(G.Vectors.VectorsOptionsOneofCase.Vector, vectors.VectorsOptionsCase);
        Assert.Equal([1f, 2f], vectors.Vector.Dense.Data);
    }

    [Fact]
    public void A_payload_number_beyond_double_range_names_the_point_and_field()
    {
        VectorPoint[] points = [new("huge", new Dictionary<string, float[]> { ["dist"] = [0, 0] }, """{"n":{"deep":1e400}}""")];
        using var payload = JsonDocument.Parse(points[0].Payload);
        var e = Assert.Throws<VectorStoreException>(() => QdrantRequests.Upsert("c", TestSchema, points, [payload]));
        Assert.Equal(VectorStoreErrorKind.BadRequest, e.Kind);
        Assert.Contains("point 'huge'", e.Message, StringComparison.Ordinal);
        Assert.Contains("n.deep", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Deletes_wait_and_select_distinct_uuids_or_a_filter()
    {
        var byIds = QdrantRequests.DeleteIds("c", ["a", "b", "a"]);
        Assert.True(byIds.HasWait && byIds.Wait);
        Assert.Equal(G.PointsSelector.PointsSelectorOneOfOneofCase.Points, byIds.Points.PointsSelectorOneOfCase);
        Assert.Equal([Uuid("a"), Uuid("b")], byIds.Points.Points.Ids.Select(i => i.Uuid));

        var byFilter = QdrantRequests.DeleteMatching("c", Filter.All(new MatchKeyword("colour", "red")));
        Assert.True(byFilter.HasWait && byFilter.Wait);
        Assert.Equal(G.PointsSelector.PointsSelectorOneOfOneofCase.Filter, byFilter.Points.PointsSelectorOneOfCase);
        Assert.Equal("red", byFilter.Points.Filter.Must.Single().Field.Match.Keyword);
    }

    [Fact]
    public void Get_asks_for_the_payload_and_vectors_only_when_wanted()
    {
        var request = QdrantRequests.Get("c", ["x", "y"], withVectors: false);
        Assert.Equal([Uuid("x"), Uuid("y")], request.Ids.Select(i => i.Uuid));
        Assert.True(request.WithPayload.Enable);
        Assert.False(request.WithVectors.Enable);
        Assert.True(QdrantRequests.Get("c", ["x"], withVectors: true).WithVectors.Enable);
    }

    [Fact]
    public void Count_is_exact_and_sends_a_filter_only_when_there_is_one()
    {
        var all = QdrantRequests.Count("c", null);
        Assert.True(all.HasExact && all.Exact);
        Assert.Null(all.Filter);
        Assert.Null(QdrantRequests.Count("c", new Filter()).Filter);
        Assert.NotNull(QdrantRequests.Count("c", Filter.All(new MatchBool("sale", true))).Filter);
    }

    [Fact]
    public void Scroll_reads_one_point_past_the_page_from_our_offset()
    {
        var request = QdrantRequests.Scroll("c", new ScrollRequest(50) { Offset = "p-0042", WithPayload = false, WithVectors = true, Filter = Filter.All(new MatchInteger("year", 2024)) });

        Assert.Equal(51u, request.Limit);
        Assert.Equal(Uuid("p-0042"), request.Offset.Uuid);
        Assert.Equal(2024, request.Filter.Must.Single().Field.Match.Integer);
        Assert.Equal(["_pid"], request.WithPayload.Include.Fields);
        Assert.True(request.WithVectors.Enable);

        var first = QdrantRequests.Scroll("c", new ScrollRequest(10));
        Assert.Null(first.Offset);
        Assert.Null(first.Filter);
        Assert.True(first.WithPayload.Enable);
    }

    // ---- filters ----

    [Fact]
    public void Filters_of_every_kind_map_to_qdrant_conditions()
    {
        var filter = new Filter
        {
            Must =
            [
                new MatchKeyword("colour", "red"),
                new MatchInteger("year", -3),
                new MatchBool("sale", false),
                new MatchAny("size", ["s", "m", "s"]),
                new Range("price", Gte: 10, Lt: 99.5),
            ],
            Should = [new HasId(["a", "b", "a"]), Filter.None(new MatchKeyword("brand", "x"))],
            MustNot = [new Range("stock", Lte: 0)],
        };

        var f = QdrantRequests.Filter(filter);

        Assert.Equal(5, f.Must.Count);
        Assert.Equal(("colour", "red"), (f.Must[0].Field.Key, f.Must[0].Field.Match.Keyword));
        Assert.Equal(("year", -3L), (f.Must[1].Field.Key, f.Must[1].Field.Match.Integer));
        Assert.Equal(G.Match.MatchValueOneofCase.Boolean, f.Must[2].Field.Match.MatchValueCase);
        Assert.False(f.Must[2].Field.Match.Boolean);
        Assert.Equal(G.Match.MatchValueOneofCase.Keywords, f.Must[3].Field.Match.MatchValueCase);
        Assert.Equal(["s", "m"], f.Must[3].Field.Match.Keywords.Strings);
        var price = f.Must[4].Field;
        Assert.Equal("price", price.Key);
        Assert.Null(price.Match);
        Assert.True(price.Range.HasGte && price.Range.HasLt && !price.Range.HasGt && !price.Range.HasLte);
        Assert.Equal((10.0, 99.5), (price.Range.Gte, price.Range.Lt));

        Assert.Equal(2, f.Should.Count);
        Assert.Equal(G.Condition.ConditionOneOfOneofCase.HasId, f.Should[0].ConditionOneOfCase);
        Assert.Equal([Uuid("a"), Uuid("b")], f.Should[0].HasId.HasId.Select(i => i.Uuid));
        Assert.Equal(G.Condition.ConditionOneOfOneofCase.Filter, f.Should[1].ConditionOneOfCase);
        Assert.Equal("x", f.Should[1].Filter.MustNot.Single().Field.Match.Keyword);
        Assert.Empty(f.Should[1].Filter.Must);

        var stock = f.MustNot.Single().Field;
        Assert.True(stock.Range.HasLte && !stock.Range.HasGte);
        Assert.Equal(0.0, stock.Range.Lte);
    }

    // ---- queries ----

    [Fact]
    public void Search_uses_the_query_api_with_every_option_it_was_given()
    {
        var request = QdrantRequests.Search("c", new SearchRequest("image", new float[] { 1, 2, 3, 4 }, 7)
        {
            Filter = Filter.All(new MatchKeyword("k", "v")),
            ScoreThreshold = 0.25f,
            Offset = 3,
            Ef = 128,
            Exact = true,
            WithPayload = false,
            WithVectors = true,
        });

        Assert.Equal("c", request.CollectionName);
        Assert.Equal("image", request.Using);
        Assert.Equal(G.Query.VariantOneofCase.Nearest, request.Query.VariantCase);
        Assert.Equal(G.VectorInput.VariantOneofCase.Dense, request.Query.Nearest.VariantCase);
        Assert.Equal([1f, 2, 3, 4], request.Query.Nearest.Dense.Data);
        Assert.Equal(7ul, request.Limit);
        Assert.Equal(3ul, request.Offset);
        Assert.True(request.HasScoreThreshold);
        Assert.Equal(0.25f, request.ScoreThreshold);
        Assert.Equal(128ul, request.Params.HnswEf);
        Assert.True(request.Params.HasExact && request.Params.Exact);
        Assert.Equal("v", request.Filter.Must.Single().Field.Match.Keyword);
        Assert.Equal(["_pid"], request.WithPayload.Include.Fields);
        Assert.True(request.WithVectors.Enable);
    }

    [Fact]
    public void A_plain_search_leaves_optional_fields_unset()
    {
        var request = QdrantRequests.Search("c", new SearchRequest("text", new float[] { 1, 0, 0 }, 5));

        Assert.False(request.HasOffset);
        Assert.False(request.HasScoreThreshold);
        Assert.Null(request.Params);
        Assert.Null(request.Filter);
        Assert.True(request.WithPayload.Enable);
        Assert.False(request.WithVectors.Enable);
    }

    [Fact]
    public void A_search_of_the_unnamed_vector_names_no_vector()
    {
        var request = QdrantRequests.Search("legacy", new SearchRequest("", new float[] { 1, 0 }, 1));
        Assert.False(request.HasUsing);
    }

    [Fact]
    public void A_sparse_search_sends_the_indices_and_values_in_its_named_space()
    {
        var request = QdrantRequests.SearchSparse("c", new SparseSearchRequest("terms", new SparseVector([42, 7], [0.5f, 2f]), 20)
        {
            ScoreThreshold = 1.5f,
            Offset = 2,
            WithPayload = false,
            Filter = Filter.All(new MatchBool("sale", true)),
        });

        Assert.Equal("terms", request.Using);
        Assert.Equal(G.VectorInput.VariantOneofCase.Sparse, request.Query.Nearest.VariantCase);
        Assert.Equal([42u, 7u], request.Query.Nearest.Sparse.Indices);
        Assert.Equal([0.5f, 2f], request.Query.Nearest.Sparse.Values);
        Assert.Equal(20ul, request.Limit);
        Assert.Equal(2ul, request.Offset);
        Assert.Equal(1.5f, request.ScoreThreshold);
        Assert.True(request.Filter.Must.Single().Field.Match.Boolean);
        Assert.Equal(["_pid"], request.WithPayload.Include.Fields);
        Assert.False(request.WithVectors.Enable);
    }

    [Fact]
    public void Recommend_average_vector_mixes_point_ids_and_raw_vectors_excludes_the_examples_and_sends_the_threshold()
    {
        var request = QdrantRequests.Recommend("c", new RecommendRequest("text", 4)
        {
            Positive = ["p1", RecommendExample.Of([1, 2, 3])],
            Negative = ["n1"],
            Filter = Filter.All(new MatchKeyword("k", "v")),
            ScoreThreshold = 0.5f,
            Ef = 32,
        });

        Assert.Equal("text", request.Using);
        var input = request.Query.Recommend;
        Assert.Equal(G.RecommendStrategy.AverageVector, input.Strategy);
        Assert.Equal(2, input.Positive.Count);
        Assert.Equal(Uuid("p1"), input.Positive[0].Id.Uuid);
        Assert.Equal([1f, 2, 3], input.Positive[1].Dense.Data);
        Assert.Equal(Uuid("n1"), input.Negative.Single().Id.Uuid);

        // The user's filter under must; the example points under must_not.
        Assert.Equal("v", request.Filter.Must.Single().Filter.Must.Single().Field.Match.Keyword);
        Assert.Equal([Uuid("p1"), Uuid("n1")], request.Filter.MustNot.Single().HasId.HasId.Select(i => i.Uuid));
        Assert.Equal(0.5f, request.ScoreThreshold);
        Assert.Equal(32ul, request.Params.HnswEf);
        Assert.Equal(4ul, request.Limit);
    }

    [Fact]
    public void Recommend_best_score_leaves_the_threshold_to_the_caller_and_works_with_negatives_only()
    {
        var request = QdrantRequests.Recommend("c", new RecommendRequest("image", 3)
        {
            Negative = ["n1", "n2"],
            Strategy = RecommendStrategy.BestScore,
            ScoreThreshold = -0.2f,
        });

        Assert.Equal(G.RecommendStrategy.BestScore, request.Query.Recommend.Strategy);
        Assert.Empty(request.Query.Recommend.Positive);
        Assert.Equal(2, request.Query.Recommend.Negative.Count);
        Assert.False(request.HasScoreThreshold);
        Assert.Empty(request.Filter.Must);
        Assert.Equal(2, request.Filter.MustNot.Single().HasId.HasId.Count);
    }

    [Fact]
    public void Recommend_from_raw_vectors_only_sends_no_exclusion()
    {
        var request = QdrantRequests.Recommend("c", new RecommendRequest("text", 2) { Positive = [RecommendExample.Of([1, 0, 0])] });
        Assert.Null(request.Filter);
        Assert.Null(request.Params);
    }

    [Fact]
    public void Requests_survive_the_wire_unchanged()
    {
        var request = QdrantRequests.Recommend("c", new RecommendRequest("text", 2) { Positive = ["a", RecommendExample.Of([0.1f, float.Epsilon, -3])] });
        var back = G.QueryPoints.Parser.ParseFrom(Google.Protobuf.MessageExtensions.ToByteArray(request));
        Assert.Equal(request, back);
    }
}
