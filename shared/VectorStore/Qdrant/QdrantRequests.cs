using System.Text.Json;
using G = Qdrant.Client.Grpc;

namespace Platform.VectorStore.Qdrant;

/// <summary>
/// Builds the protobuf requests of Qdrant's gRPC API from our requests. Pure functions with no I/O: every input has
/// already been validated (<see cref="QdrantValidation"/>), so what is built here is exactly what is sent.
/// </summary>
/// <remarks>The name <see cref="UnnamedVector"/> stands for the single unnamed vector of a collection this backend did
/// not create: points carry it as a plain vector and queries name no vector (<c>using</c> unset).</remarks>
public static class QdrantRequests
{
    /// <summary>The vector name that stands for Qdrant's single unnamed vector (Qdrant's own name for it is "" too).</summary>
    public const string UnnamedVector = "";

    // ---- collections ----

    /// <summary>A collection with one named dense space per schema vector and one sparse space per sparse vector.</summary>
    public static G.CreateCollection CreateCollection(string collection, CollectionSchema schema)
    {
        var map = new G.VectorParamsMap();
        foreach (var (name, p) in schema.Vectors)
            map.Map[name] = new G.VectorParams { Size = (ulong)p.Size, Distance = DistanceOf(p.Distance) };
        var request = new G.CreateCollection
        {
            CollectionName = collection,
            VectorsConfig = new G.VectorsConfig { ParamsMap = map },
        };
        if (schema.SparseVectors.Count > 0)
        {
            var sparse = new G.SparseVectorConfig();
            foreach (var (name, p) in schema.SparseVectors)
                sparse.Map[name] = p.Idf ? new G.SparseVectorParams { Modifier = G.Modifier.Idf } : new G.SparseVectorParams();
            request.SparseVectorsConfig = sparse;
        }
        return request;
    }

    public static G.Distance DistanceOf(Distance d) => d switch
    {
        Distance.Cosine => G.Distance.Cosine,
        Distance.Dot => G.Distance.Dot,
        Distance.Euclid => G.Distance.Euclid,
        _ => throw QdrantValidation.Bad($"unknown distance {d}"),
    };

    // ---- ids ----

    /// <summary>The Qdrant point id for one of ours: its name-based UUID (<see cref="QdrantPointId"/>).</summary>
    public static G.PointId PointId(string id) => new() { Uuid = QdrantPointId.For(id) };

    /// <summary>Distinct Qdrant ids for our ids, in first-seen order.</summary>
    public static IEnumerable<G.PointId> PointIds(IEnumerable<string> ids) =>
        ids.Select(QdrantPointId.For).Distinct(StringComparer.Ordinal).Select(uuid => new G.PointId { Uuid = uuid });

    // ---- points ----

    /// <summary>
    /// One upsert of the whole batch, waiting until it is applied. Each point carries its named dense and sparse vectors
    /// and its payload with our id under <see cref="QdrantVectorStore.IdPayloadKey"/>.
    /// </summary>
    /// <param name="payloads">The parsed payload of each point, in the same order.</param>
    public static G.UpsertPoints Upsert(string collection, CollectionSchema schema, IReadOnlyList<VectorPoint> points, IReadOnlyList<JsonDocument> payloads)
    {
        var unnamed = schema.Vectors.Count == 1 && schema.Vectors.ContainsKey(UnnamedVector) && schema.SparseVectors.Count == 0;
        var request = new G.UpsertPoints { CollectionName = collection, Wait = true };
        for (var i = 0; i < points.Count; i++)
        {
            var p = points[i];
            var point = new G.PointStruct { Id = PointId(p.Id), Vectors = new G.Vectors() };
            if (unnamed)
            {
                point.Vectors.Vector = Dense(p.Vectors[UnnamedVector]);
            }
            else
            {
                var named = new G.NamedVectors();
                foreach (var (name, vector) in p.Vectors)
                    named.Vectors[name] = Dense(vector);
                if (p.Sparse is not null)
                {
                    foreach (var (name, vector) in p.Sparse)
                        named.Vectors[name] = new G.Vector { Sparse = Sparse(vector) };
                }
                point.Vectors.Vectors_ = named;
            }
            try
            {
                QdrantPayload.ToProtobuf(payloads[i].RootElement, p.Id, point.Payload);
            }
            catch (VectorStoreException e) when (e.Kind == VectorStoreErrorKind.BadRequest)
            {
                throw QdrantValidation.Bad($"point '{p.Id}': {e.Message}");
            }
            request.Points.Add(point);
        }
        return request;
    }

    private static G.Vector Dense(float[] vector)
    {
        return new G.Vector { Dense = DenseOf(vector) };
    }

    public static G.DenseVector DenseOf(ReadOnlySpan<float> vector)
    {
        var dense = new G.DenseVector();
        dense.Data.Capacity = vector.Length;
        foreach (var x in vector)
            dense.Data.Add(x);
        return dense;
    }

    public static G.SparseVector Sparse(SparseVector vector)
    {
        var sparse = new G.SparseVector();
        sparse.Indices.Add(vector.Indices);
        sparse.Values.Add(vector.Values);
        return sparse;
    }

    public static G.DeletePoints DeleteIds(string collection, IReadOnlyList<string> ids)
    {
        var list = new G.PointsIdsList();
        list.Ids.Add(PointIds(ids));
        return new G.DeletePoints { CollectionName = collection, Wait = true, Points = new G.PointsSelector { Points = list } };
    }

    public static G.DeletePoints DeleteMatching(string collection, Filter filter) =>
        new() { CollectionName = collection, Wait = true, Points = new G.PointsSelector { Filter = Filter(filter) } };

    public static G.GetPoints Get(string collection, IReadOnlyList<string> ids, bool withVectors)
    {
        var request = new G.GetPoints
        {
            CollectionName = collection,
            WithPayload = WithPayload(true),
            WithVectors = new G.WithVectorsSelector { Enable = withVectors },
        };
        request.Ids.Add(PointIds(ids));
        return request;
    }

    /// <summary>An exact count, so it agrees with what a scroll would return.</summary>
    public static G.CountPoints Count(string collection, Filter? filter)
    {
        var request = new G.CountPoints { CollectionName = collection, Exact = true };
        if (filter is { IsEmpty: false })
            request.Filter = Filter(filter);
        return request;
    }

    /// <summary>One point more than the page: its id is the next page's offset, in our ids rather than Qdrant's.</summary>
    public static G.ScrollPoints Scroll(string collection, ScrollRequest request)
    {
        var scroll = new G.ScrollPoints
        {
            CollectionName = collection,
            Limit = (uint)request.Limit + 1,
            WithPayload = WithPayload(request.WithPayload),
            WithVectors = new G.WithVectorsSelector { Enable = request.WithVectors },
        };
        if (request.Offset is not null)
            scroll.Offset = PointId(request.Offset);
        if (request.Filter is { IsEmpty: false })
            scroll.Filter = Filter(request.Filter);
        return scroll;
    }

    // ---- queries ----

    /// <summary>A nearest-neighbour query in one dense space through the Query API.</summary>
    public static G.QueryPoints Search(string collection, SearchRequest request)
    {
        var query = NewQuery(collection, request.Vector, new G.Query { Nearest = new G.VectorInput { Dense = DenseOf(request.Query.Span) } },
            request.Limit, request.WithPayload, request.WithVectors);
        if (request.Filter is { IsEmpty: false })
            query.Filter = Filter(request.Filter);
        if (Params(request.Ef, request.Exact) is { } p)
            query.Params = p;
        if (request.ScoreThreshold is { } threshold)
            query.ScoreThreshold = threshold;
        if (request.Offset > 0)
            query.Offset = (ulong)request.Offset;
        return query;
    }

    /// <summary>A query in one sparse space through the Query API (Qdrant scores it by the dot product over shared indices).</summary>
    public static G.QueryPoints SearchSparse(string collection, SparseSearchRequest request)
    {
        var query = NewQuery(collection, request.Vector, new G.Query { Nearest = new G.VectorInput { Sparse = Sparse(request.Query) } },
            request.Limit, request.WithPayload, withVectors: false);
        if (request.Filter is { IsEmpty: false })
            query.Filter = Filter(request.Filter);
        if (request.ScoreThreshold is { } threshold)
            query.ScoreThreshold = threshold;
        if (request.Offset > 0)
            query.Offset = (ulong)request.Offset;
        return query;
    }

    /// <summary>
    /// A recommendation through the Query API. Example points are excluded by a has-id condition, whatever the server
    /// does. The score threshold is sent for the average-vector strategy only: best-score thresholds are applied by the
    /// caller to the scores as the interface defines them.
    /// </summary>
    public static G.QueryPoints Recommend(string collection, RecommendRequest request)
    {
        var input = new G.RecommendInput
        {
            Strategy = request.Strategy == RecommendStrategy.BestScore ? G.RecommendStrategy.BestScore : G.RecommendStrategy.AverageVector,
        };
        input.Positive.Add(request.Positive.Select(Example));
        input.Negative.Add(request.Negative.Select(Example));
        var query = NewQuery(collection, request.Vector, new G.Query { Recommend = input }, request.Limit, request.WithPayload, request.WithVectors);

        var exampleIds = request.Positive.Concat(request.Negative).Where(e => e.Id is not null).Select(e => e.Id!).ToList();
        if (exampleIds.Count > 0)
            query.Filter = FilterExcluding(request.Filter, exampleIds);
        else if (request.Filter is { IsEmpty: false })
            query.Filter = Filter(request.Filter);
        if (Params(request.Ef, exact: false) is { } p)
            query.Params = p;
        if (request.ScoreThreshold is { } threshold && request.Strategy != RecommendStrategy.BestScore)
            query.ScoreThreshold = threshold;
        return query;
    }

    private static G.VectorInput Example(RecommendExample example)
    {
        if (example.Id is not null)
            return new G.VectorInput { Id = PointId(example.Id) };
        return new G.VectorInput { Dense = DenseOf(example.Vector) };
    }

    private static G.QueryPoints NewQuery(string collection, string vector, G.Query query, int limit, bool withPayload, bool withVectors)
    {
        var request = new G.QueryPoints
        {
            CollectionName = collection,
            Query = query,
            Limit = (ulong)limit,
            WithPayload = WithPayload(withPayload),
            WithVectors = new G.WithVectorsSelector { Enable = withVectors },
        };
        if (vector != UnnamedVector)
            request.Using = vector;
        return request;
    }

    private static G.SearchParams? Params(int? ef, bool exact)
    {
        if (ef is null && !exact)
            return null;
        var p = new G.SearchParams();
        if (ef is { } e)
            p.HnswEf = (ulong)e;
        if (exact)
            p.Exact = true;
        return p;
    }

    /// <summary>
    /// Everything when the caller wants the payload, else only the id key, which is how a returned point's id is mapped
    /// back.
    /// </summary>
    public static G.WithPayloadSelector WithPayload(bool withPayload)
    {
        if (withPayload)
            return new G.WithPayloadSelector { Enable = true };
        var include = new G.PayloadIncludeSelector();
        include.Fields.Add(QdrantVectorStore.IdPayloadKey);
        return new G.WithPayloadSelector { Include = include };
    }

    // ---- filters ----

    /// <summary>A filter: must / should / must_not, each left empty when ours is.</summary>
    public static G.Filter Filter(Filter filter)
    {
        var f = new G.Filter();
        f.Must.Add(filter.Must.Select(Condition));
        f.Should.Add(filter.Should.Select(Condition));
        f.MustNot.Add(filter.MustNot.Select(Condition));
        return f;
    }

    /// <summary>The user's filter (when any) with the given points excluded.</summary>
    public static G.Filter FilterExcluding(Filter? filter, IEnumerable<string> excludedIds)
    {
        var f = new G.Filter();
        if (filter is { IsEmpty: false })
            f.Must.Add(new G.Condition { Filter = Filter(filter) });
        f.MustNot.Add(HasId(excludedIds));
        return f;
    }

    private static G.Condition HasId(IEnumerable<string> ids)
    {
        var has = new G.HasIdCondition();
        has.HasId.Add(PointIds(ids));
        return new G.Condition { HasId = has };
    }

    private static G.Condition Condition(Condition condition) => condition switch
    {
        Filter f => new G.Condition { Filter = Filter(f) },
        HasId h => HasId(h.Ids),
        MatchKeyword m => Field(m.Key, new G.Match { Keyword = m.Value }),
        MatchInteger m => Field(m.Key, new G.Match { Integer = m.Value }),
        MatchBool m => Field(m.Key, new G.Match { Boolean = m.Value }),
        MatchAny m => Field(m.Key, new G.Match { Keywords = Strings(m.Values) }),
        Range r => new G.Condition { Field = new G.FieldCondition { Key = r.Key, Range = RangeOf(r) } },
        _ => throw QdrantValidation.Bad($"filter: condition {condition.GetType().Name} is not supported"),
    };

    private static G.Condition Field(string key, G.Match match) =>
        new() { Field = new G.FieldCondition { Key = key, Match = match } };

    private static G.RepeatedStrings Strings(IEnumerable<string> values)
    {
        var strings = new G.RepeatedStrings();
        strings.Strings.Add(values.Distinct(StringComparer.Ordinal));
        return strings;
    }

    private static G.Range RangeOf(Range r)
    {
        var range = new G.Range();
        if (r.Gt is { } gt) range.Gt = gt;
        if (r.Gte is { } gte) range.Gte = gte;
        if (r.Lt is { } lt) range.Lt = lt;
        if (r.Lte is { } lte) range.Lte = lte;
        return range;
    }
}
