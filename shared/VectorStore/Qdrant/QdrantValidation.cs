using System.Globalization;
using System.Text.Json;

namespace Platform.VectorStore.Qdrant;

/// <summary>
/// Checks requests before anything is sent, so a bad request fails the same way whichever engine is behind
/// <see cref="IVectorStore"/> and a rejected batch never reaches the server in part.
/// </summary>
internal static class QdrantValidation
{
    public const int MaxIdLength = Limits.MaxIdLength;
    public const int MaxLimit = Limits.MaxLimit;

    // Deep enough for any real filter; bounds recursion on a hostile one.
    private const int MaxFilterDepth = 64;

    public static VectorStoreException Bad(string message) => new(VectorStoreErrorKind.BadRequest, message);

    public static void CollectionName(string collection)
    {
        if (!Names.IsValid(collection))
            throw Bad($"collection name '{collection}' is not valid: {Names.Rule}");
    }

    public static void Id(string? id, string what = "id")
    {
        if (string.IsNullOrEmpty(id))
            throw Bad($"{what} must not be empty");
        if (id.Length > MaxIdLength)
            throw Bad($"{what} '{id[..32]}…' is {id.Length} characters; ids are 1..{MaxIdLength} characters");
        if (!QdrantPointId.IsMappable(id))
            throw Bad($"{what} '{id}' is not valid Unicode (it holds a lone surrogate)");
    }

    public static void Ids(IReadOnlyList<string> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        for (var i = 0; i < ids.Count; i++)
            Id(ids[i], $"ids[{i}]");
    }

    public static void Limit(int limit, string what = "limit")
    {
        if (limit is < 1 or > MaxLimit)
            throw Bad($"{what} must be 1..{MaxLimit}, got {limit}");
    }

    public static void ScoreThreshold(float? threshold)
    {
        if (threshold is { } t && !float.IsFinite(t))
            throw Bad($"score threshold must be a finite number, got {t.ToString(CultureInfo.InvariantCulture)}");
    }

    public static void Ef(int? ef)
    {
        if (ef is < 1)
            throw Bad($"ef must be at least 1, got {ef}");
    }

    /// <summary>
    /// Checks a whole batch against the schema and parses each payload (the caller disposes them): a point needs an
    /// id and at least one vector, each fitting its named space, and a JSON object payload.
    /// </summary>
    public static JsonDocument[] Points(CollectionSchema schema, IReadOnlyList<VectorPoint> points)
    {
        ArgumentNullException.ThrowIfNull(points);
        var payloads = new JsonDocument[points.Count];
        var parsed = 0;
        try
        {
            for (var i = 0; i < points.Count; i++)
            {
                var p = points[i] ?? throw Bad($"points[{i}] is null");
                Id(p.Id, $"points[{i}].id");
                var context = $"point '{p.Id}'";
                if ((p.Vectors?.Count ?? 0) + (p.Sparse?.Count ?? 0) == 0)
                    throw Bad($"{context} has no vectors; a point carries at least one of the collection's named vectors");
                foreach (var (name, vector) in p.Vectors ?? new Dictionary<string, float[]>())
                {
                    if (vector is null)
                        throw Bad($"{context}: named vector '{name}' is null");
                    Vector(schema, name, vector, context);
                }
                foreach (var (name, vector) in p.Sparse ?? new Dictionary<string, SparseVector>())
                    Sparse(schema, name, vector, context);
                payloads[i] = Payload(p.Payload, context);
                parsed++;
            }
            return payloads;
        }
        catch
        {
            for (var i = 0; i < parsed; i++)
                payloads[i].Dispose();
            throw;
        }
    }

    public static void Scroll(ScrollRequest request)
    {
        Limit(request.Limit);
        if (request.Offset is not null)
            Id(request.Offset, "scroll offset");
        Filter(request.Filter);
    }

    public static void Search(CollectionSchema schema, SearchRequest request)
    {
        Vector(schema, request.Vector, request.Query.Span, "query");
        Limit(request.Limit);
        Offset(request.Offset);
        ScoreThreshold(request.ScoreThreshold);
        Ef(request.Ef);
        Filter(request.Filter);
    }

    public static void SparseSearch(CollectionSchema schema, SparseSearchRequest request)
    {
        Sparse(schema, request.Vector, request.Query, "sparse query");
        Limit(request.Limit);
        Offset(request.Offset);
        ScoreThreshold(request.ScoreThreshold);
        Filter(request.Filter);
    }

    /// <summary>Checks a recommendation; returns its example point ids, keyed by their Qdrant UUIDs.</summary>
    public static Dictionary<string, string> Recommend(CollectionSchema schema, RecommendRequest request)
    {
        if (request.Vector is null)
            throw Bad("recommend: the named vector is missing");
        try
        {
            _ = schema[request.Vector];
        }
        catch (VectorStoreException e) when (e.Kind == VectorStoreErrorKind.BadRequest)
        {
            throw Bad($"recommend: {e.Message}");
        }
        Limit(request.Limit);
        ScoreThreshold(request.ScoreThreshold);
        Ef(request.Ef);
        Filter(request.Filter);
        if (request.Positive is null || request.Negative is null)
            throw Bad("recommend: positive and negative examples must be lists (empty when none)");
        if (!Enum.IsDefined(request.Strategy))
            throw Bad($"recommend: unknown strategy {request.Strategy}");
        if (request.Strategy == RecommendStrategy.AverageVector && request.Positive.Count == 0)
            throw Bad("recommend: the average-vector strategy needs at least one positive example");
        if (request.Positive.Count == 0 && request.Negative.Count == 0)
            throw Bad("recommend: needs at least one example");
        var exampleIds = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        Examples(request.Positive, "positive");
        Examples(request.Negative, "negative");
        return exampleIds;

        void Examples(IReadOnlyList<RecommendExample> examples, string kind)
        {
            for (var i = 0; i < examples.Count; i++)
            {
                var e = examples[i] ?? throw Bad($"recommend: {kind}[{i}] is null");
                var what = $"recommend: {kind}[{i}]";
                if ((e.Id is null) == (e.Vector is null))
                    throw Bad($"{what} must be either a point id or a vector");
                if (e.Id is not null)
                {
                    Id(e.Id, $"{what} id");
                    exampleIds[QdrantPointId.For(e.Id)] = e.Id;
                }
                else
                {
                    Vector(schema, request.Vector, e.Vector, what);
                }
            }
        }
    }

    public static void Offset(int offset)
    {
        if (offset < 0)
            throw Bad($"offset must not be negative, got {offset}");
    }

    /// <summary>The named vector's parameters; throws when the name is unknown or the vector does not fit them.</summary>
    public static VectorParams Vector(CollectionSchema schema, string? name, ReadOnlySpan<float> vector, string context)
    {
        VectorParams p;
        try
        {
            p = schema[name ?? throw Bad($"{context}: the named vector is missing")];
        }
        catch (VectorStoreException e)
        {
            throw Bad($"{context}: {e.Message}");
        }
        if (vector.Length != p.Size)
            throw Bad($"{context}: named vector '{name}' has dimension {p.Size}, got {vector.Length} components");
        var allZero = true;
        for (var i = 0; i < vector.Length; i++)
        {
            var x = vector[i];
            if (!float.IsFinite(x))
                throw Bad($"{context}: named vector '{name}' component {i} is {x.ToString(CultureInfo.InvariantCulture)}; components must be finite");
            allZero &= x == 0f;
        }
        if (allZero && p.Distance == Distance.Cosine)
            throw Bad($"{context}: named vector '{name}' is all zeros, which has no direction for cosine distance");
        return p;
    }

    /// <summary>The sparse space's parameters; throws when the name is unknown or the vector is malformed.</summary>
    public static SparseVectorParams Sparse(CollectionSchema schema, string? name, SparseVector? vector, string context)
    {
        if (name is null)
            throw Bad($"{context}: the named sparse vector is missing");
        if (!schema.SparseVectors.TryGetValue(name, out var p))
        {
            var known = schema.SparseVectors.Keys.Order(StringComparer.Ordinal).Select(k => $"'{k}'").ToList();
            throw Bad($"{context}: unknown named sparse vector '{name}'; this collection has "
                + (known.Count == 0 ? "no sparse vectors" : $"sparse vectors {string.Join(", ", known)}"));
        }
        if (vector is null)
            throw Bad($"{context}: sparse vector '{name}' is null");
        if (vector.Indices is null || vector.Values is null)
            throw Bad($"{context}: sparse vector '{name}' needs both indices and values");
        if (vector.Indices.Length != vector.Values.Length)
            throw Bad($"{context}: sparse vector '{name}' has {vector.Indices.Length} indices but {vector.Values.Length} values; they pair up one to one");
        if (vector.Indices.Length > SparseVector.MaxEntries)
            throw Bad($"{context}: sparse vector '{name}' has {vector.Indices.Length} entries; at most {SparseVector.MaxEntries} are allowed");
        for (var i = 0; i < vector.Values.Length; i++)
        {
            var x = vector.Values[i];
            if (!float.IsFinite(x))
                throw Bad($"{context}: sparse vector '{name}' value {i} (index {vector.Indices[i]}) is {x.ToString(CultureInfo.InvariantCulture)}; values must be finite");
        }
        var seen = new HashSet<uint>(vector.Indices.Length);
        foreach (var index in vector.Indices)
        {
            if (!seen.Add(index))
                throw Bad($"{context}: sparse vector '{name}' repeats index {index}; indices must be distinct");
        }
        return p;
    }

    /// <summary>Throws when the schema's sparse spaces are unusable: a bad name, or one a dense space also uses.</summary>
    public static void SparseSchema(CollectionSchema schema)
    {
        if (schema.SparseVectors is null)
            throw Bad("a collection's sparse vectors must be a map (empty when none)");
        foreach (var (name, p) in schema.SparseVectors)
        {
            if (!Names.IsValid(name))
                throw Bad($"named sparse vector '{name}': {Names.Rule}");
            if (p is null)
                throw Bad($"named sparse vector '{name}' has no parameters");
            if (schema.Vectors.ContainsKey(name))
                throw Bad($"'{name}' names both a dense and a sparse vector; names must not repeat");
        }
    }

    /// <summary>Parses a point's payload: a JSON object without the reserved id key. The caller disposes the result.</summary>
    public static JsonDocument Payload(string? payload, string context)
    {
        if (payload is null)
            throw Bad($"{context}: payload must be a JSON object, got null");
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(payload);
        }
        catch (JsonException e)
        {
            throw Bad($"{context}: payload is not valid JSON: {e.Message}");
        }
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
        {
            var kind = doc.RootElement.ValueKind;
            doc.Dispose();
            throw Bad($"{context}: payload must be a JSON object, got {kind.ToString().ToLowerInvariant()}");
        }
        if (doc.RootElement.TryGetProperty(QdrantVectorStore.IdPayloadKey, out _))
        {
            doc.Dispose();
            throw Bad($"{context}: payload key '{QdrantVectorStore.IdPayloadKey}' is reserved (the Qdrant backend keeps the point's id there)");
        }
        return doc;
    }

    public static void Filter(Filter? filter)
    {
        if (filter is not null)
            Condition(filter, 0);
    }

    private static void Condition(Condition? condition, int depth)
    {
        switch (condition)
        {
            case null:
                throw Bad("filter: a condition is null");
            case Filter f:
                if (depth > MaxFilterDepth)
                    throw Bad($"filter: nested more than {MaxFilterDepth} levels deep");
                Clause(f.Must, "must", depth);
                Clause(f.Should, "should", depth);
                Clause(f.MustNot, "must_not", depth);
                break;
            case MatchKeyword m:
                Key(m.Key);
                if (m.Value is null)
                    throw Bad($"filter: match on '{m.Key}' has a null value");
                break;
            case MatchInteger m:
                Key(m.Key);
                break;
            case MatchBool m:
                Key(m.Key);
                break;
            case MatchAny m:
                Key(m.Key);
                if (m.Values is null || m.Values.Any(v => v is null))
                    throw Bad($"filter: match-any on '{m.Key}' needs a list of non-null strings");
                break;
            case Range r:
                Key(r.Key);
                if (r.Gt is null && r.Gte is null && r.Lt is null && r.Lte is null)
                    throw Bad($"filter: range on '{r.Key}' needs at least one bound");
                foreach (var bound in (double?[])[r.Gt, r.Gte, r.Lt, r.Lte])
                {
                    if (bound is { } b && !double.IsFinite(b))
                        throw Bad($"filter: range on '{r.Key}' has a bound of {b.ToString(CultureInfo.InvariantCulture)}; bounds must be finite");
                }
                break;
            case HasId h:
                if (h.Ids is null)
                    throw Bad("filter: has-id needs a list of ids");
                for (var i = 0; i < h.Ids.Count; i++)
                    Id(h.Ids[i], $"filter: has-id ids[{i}]");
                break;
            default:
                throw Bad($"filter: condition {condition.GetType().Name} is not supported");
        }
    }

    private static void Clause(IReadOnlyList<Condition>? conditions, string name, int depth)
    {
        if (conditions is null)
            throw Bad($"filter: '{name}' is null");
        foreach (var c in conditions)
            Condition(c, depth + 1);
    }

    private static void Key(string? key)
    {
        if (string.IsNullOrEmpty(key))
            throw Bad("filter: a condition's key must not be empty");
    }
}
