using Google.Protobuf.Collections;
using Platform.VectorStore.Qdrant;
using G = Qdrant.Client.Grpc;

namespace Platform.VectorStore.Tests.Qdrant;

/// <summary>Qdrant's gRPC answers read into our types, without a server.</summary>
public sealed class QdrantResponsesTests
{
    private static G.CollectionInfo Info(G.VectorsConfig? vectors, G.SparseVectorConfig? sparse = null) => new()
    {
        Config = new G.CollectionConfig { Params = new G.CollectionParams { VectorsConfig = vectors, SparseVectorsConfig = sparse } },
    };

    private static G.VectorsConfig Named(params (string Name, ulong Size, G.Distance Distance)[] vectors)
    {
        var map = new G.VectorParamsMap();
        foreach (var v in vectors)
            map.Map[v.Name] = new G.VectorParams { Size = v.Size, Distance = v.Distance };
        return new G.VectorsConfig { ParamsMap = map };
    }

    [Fact]
    public void A_schema_reads_named_dense_spaces_and_sparse_spaces_with_idf()
    {
        var sparse = new G.SparseVectorConfig();
        sparse.Map["terms"] = new G.SparseVectorParams { Modifier = G.Modifier.Idf };
        sparse.Map["tags"] = new G.SparseVectorParams();

        var schema = QdrantResponses.Schema("c", Info(Named(("image", 4, G.Distance.Cosine), ("text", 3, G.Distance.Dot), ("d", 2, G.Distance.Euclid)), sparse));

        Assert.Equal(new VectorParams(4, Distance.Cosine), schema.Vectors["image"]);
        Assert.Equal(new VectorParams(3, Distance.Dot), schema.Vectors["text"]);
        Assert.Equal(new VectorParams(2, Distance.Euclid), schema.Vectors["d"]);
        Assert.Equal(new SparseVectorParams(Idf: true), schema.SparseVectors["terms"]);
        Assert.Equal(new SparseVectorParams(Idf: false), schema.SparseVectors["tags"]);
    }

    [Fact]
    public void What_create_collection_sends_reads_back_as_the_same_schema()
    {
        var schema = new CollectionSchema(new Dictionary<string, VectorParams> { ["image"] = new(512, Distance.Cosine), ["e"] = new(3, Distance.Euclid) })
        {
            SparseVectors = new Dictionary<string, SparseVectorParams> { ["bm25"] = new(Idf: true) },
        };
        var sent = QdrantRequests.CreateCollection("c", schema);

        var back = QdrantResponses.Schema("c", Info(sent.VectorsConfig, sent.SparseVectorsConfig));

        Assert.True(QdrantVectorStore.SameSchema(schema, back), $"sent {QdrantVectorStore.Describe(schema)}, read {QdrantVectorStore.Describe(back)}");
    }

    [Fact]
    public void Schemas_differ_when_only_a_sparse_space_differs()
    {
        var dense = new Dictionary<string, VectorParams> { ["v"] = new(2, Distance.Dot) };
        var idf = new CollectionSchema(dense) { SparseVectors = new Dictionary<string, SparseVectorParams> { ["s"] = new(Idf: true) } };
        var plain = new CollectionSchema(dense) { SparseVectors = new Dictionary<string, SparseVectorParams> { ["s"] = new() } };
        Assert.False(QdrantVectorStore.SameSchema(idf, plain));
        Assert.False(QdrantVectorStore.SameSchema(idf, new CollectionSchema(dense)));
        Assert.Contains("'s' sparse IDF", QdrantVectorStore.Describe(idf), StringComparison.Ordinal);
    }

    [Fact]
    public void The_single_unnamed_vector_form_reads_under_the_empty_name()
    {
        var schema = QdrantResponses.Schema("legacy", Info(new G.VectorsConfig { Params = new G.VectorParams { Size = 8, Distance = G.Distance.Dot } }));
        Assert.Equal(new VectorParams(8, Distance.Dot), Assert.Single(schema.Vectors, kv => kv.Key == "").Value);
    }

    [Fact]
    public void Spaces_the_interface_cannot_express_are_refused_by_name()
    {
        var manhattan = Assert.Throws<VectorStoreException>(() => QdrantResponses.Schema("c", Info(Named(("m", 3, G.Distance.Manhattan)))));
        Assert.Contains("'m'", manhattan.Message, StringComparison.Ordinal);
        Assert.Contains("Manhattan", manhattan.Message, StringComparison.Ordinal);

        var multi = Named(("colbert", 128, G.Distance.Cosine));
        multi.ParamsMap.Map["colbert"].MultivectorConfig = new G.MultiVectorConfig { Comparator = G.MultiVectorComparator.MaxSim };
        Assert.Contains("multi-vectors", Assert.Throws<VectorStoreException>(() => QdrantResponses.Schema("c", Info(multi))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Ids_map_back_through_the_payload_else_to_qdrants_own_id()
    {
        var payload = new MapField<string, G.Value> { ["_pid"] = new G.Value { StringValue = "ours" } };
        Assert.Equal("ours", QdrantResponses.IdOf(new G.PointId { Uuid = QdrantPointId.For("ours") }, payload));
        Assert.Equal("5c56c793-69f3-4fbf-87e6-c4bf54c28c26",
            QdrantResponses.IdOf(new G.PointId { Uuid = "5C56C793-69F3-4FBF-87E6-C4BF54C28C26" }, new MapField<string, G.Value>()));
        Assert.Equal("42", QdrantResponses.IdOf(new G.PointId { Num = 42 }, new MapField<string, G.Value>()));
    }

    [Fact]
    public void A_retrieved_point_carries_dense_and_sparse_vectors_and_a_payload_without_the_id_key()
    {
        var named = new G.NamedVectorsOutput();
        var dense = new G.DenseVector();
        dense.Data.Add([0.5f, 1.5f]);
        named.Vectors["v"] = new G.VectorOutput { Dense = dense };
        var sparse = new G.SparseVector();
        sparse.Indices.Add([3u, 9u]);
        sparse.Values.Add([1f, 2f]);
        named.Vectors["terms"] = new G.VectorOutput { Sparse = sparse };
        var record = new G.RetrievedPoint { Id = new G.PointId { Uuid = QdrantPointId.For("x") }, Vectors = new G.VectorsOutput { Vectors = named } };
        record.Payload["_pid"] = new G.Value { StringValue = "x" };
        record.Payload["k"] = new G.Value { StringValue = "v" };

        var point = QdrantResponses.Point(record, withPayload: true, withVectors: true);

        Assert.Equal("x", point.Id);
        Assert.Equal("""{"k":"v"}""", point.Payload);
        Assert.Equal([0.5f, 1.5f], Assert.Single(point.Vectors, kv => kv.Key == "v").Value);
        var terms = Assert.Single(point.Sparse!).Value;
        Assert.Equal([3u, 9u], terms.Indices);
        Assert.Equal([1f, 2f], terms.Values);

        var bare = QdrantResponses.Point(record, withPayload: false, withVectors: false);
        Assert.Empty(bare.Vectors);
        Assert.Null(bare.Sparse);
        Assert.Equal("{}", bare.Payload);
    }

    [Fact]
    public void Vectors_in_the_deprecated_flat_form_of_older_servers_are_read_too()
    {
#pragma warning disable CS0612, CS0618 // the form older servers answer in
        var legacy = new G.VectorOutput();
        legacy.Data.Add([1f, 2f, 3f]);
        var legacySparse = new G.VectorOutput { Indices = new G.SparseIndices() };
        legacySparse.Indices.Data.Add([5u]);
        legacySparse.Data.Add(0.25f);
#pragma warning restore CS0612, CS0618
        var named = new G.NamedVectorsOutput();
        named.Vectors["d"] = legacy;
        named.Vectors["s"] = legacySparse;
        var output = new G.VectorsOutput { Vectors = named };

        Assert.Equal([1f, 2f, 3f], Assert.Single(QdrantResponses.Vectors(output)).Value);
        var sparse = Assert.Single(QdrantResponses.SparseVectors(output)!).Value;
        Assert.Equal([5u], sparse.Indices);
        Assert.Equal([0.25f], sparse.Values);
        Assert.Equal([1f, 2f, 3f], QdrantResponses.Vectors(new G.VectorsOutput { Vector = legacy })[""]);
    }

    [Fact]
    public void Hits_keep_their_order_and_scores_and_bring_payload_and_vectors_only_when_asked()
    {
        var points = new RepeatedField<G.ScoredPoint>();
        foreach (var (id, score) in new[] { ("b", 0.9f), ("a", 0.4f) })
        {
            var p = new G.ScoredPoint { Id = new G.PointId { Uuid = QdrantPointId.For(id) }, Score = score };
            p.Payload["_pid"] = new G.Value { StringValue = id };
            p.Payload["n"] = new G.Value { IntegerValue = 1 };
            points.Add(p);
        }

        var full = QdrantResponses.Hits(points, withPayload: true, withVectors: true);
        Assert.Equal(["b", "a"], full.Select(h => h.Id));
        Assert.Equal([0.9f, 0.4f], full.Select(h => h.Score));
        Assert.All(full, h => Assert.Equal("""{"n":1}""", h.Payload));
        Assert.All(full, h => Assert.Empty(h.Vectors!));

        var bare = QdrantResponses.Hits(points, withPayload: false, withVectors: false);
        Assert.All(bare, h => Assert.Null(h.Payload));
        Assert.All(bare, h => Assert.Null(h.Vectors));
    }
}
