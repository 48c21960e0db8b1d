using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using static Platform.VectorStore.Qdrant.QdrantValidation;

namespace Platform.VectorStore.Qdrant;

/// <summary>
/// <see cref="IVectorStore"/> on a Qdrant server, over its REST API (the shapes of Qdrant's OpenAPI document, v1.19).
/// </summary>
/// <remarks>
/// <para>Ids: Qdrant accepts only unsigned integers and UUIDs, so each of our string ids becomes a name-based UUID
/// (<see cref="QdrantPointId"/>) and the original id is kept in the payload under <see cref="IdPayloadKey"/>, which
/// results are mapped back by and which is stripped from every payload returned. User payloads may not use that key.
/// A point this backend did not write (no such key) comes back under Qdrant's own id.</para>
/// <para>Writes are sent with <c>wait=true</c> and count as done only when Qdrant reports them <c>completed</c>.
/// Requests are validated here before anything is sent (a batch as a whole), failing with the error kinds the
/// interface documents and messages that name the culprit (point, named vector, sizes); each collection's schema is
/// cached for that, refreshed when a collection is created, deleted, found missing, or a request on it is rejected.
/// Qdrant's own errors map 404 → NotFound, 400/413/422 → BadRequest (with Qdrant's text), 409 → Conflict, and
/// anything else (unreachable, timed out, 5xx) → Unavailable, naming the URL.</para>
/// <para>Scroll: <see cref="ScrollPage.NextOffset"/> is one of our ids (the first point of the next page; the page
/// is read one point long to learn it), so an offset is always an id, as with the embedded engine; the order is
/// Qdrant's (by point UUID).</para>
/// <para>Recommend with <see cref="RecommendStrategy.BestScore"/>: Qdrant's scores (σ of the best positive
/// similarity, or −σ of the best negative one, with its "fast sigmoid") are what the interface defines, so they pass
/// through; the score threshold is applied here, to those scores.</para>
/// </remarks>
public sealed class QdrantVectorStore : IVectorStore, IDisposable
{
    /// <summary>The payload key that holds a point's original id.</summary>
    public const string IdPayloadKey = "_pid";

    /// <summary>The request timeout of a store that owns its <see cref="HttpClient"/>, unless one is given.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    private const string Json = "application/json";

    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly string _root;
    private readonly ConcurrentDictionary<string, CollectionSchema> _schemas = new(StringComparer.Ordinal);

    /// <summary>A store with its own <see cref="HttpClient"/> on the Qdrant server at <paramref name="baseAddress"/>.</summary>
    /// <param name="baseAddress">The server, for example <c>http://localhost:6333</c> (a path prefix is kept).</param>
    /// <param name="apiKey">Sent as the <c>api-key</c> header when given.</param>
    /// <param name="timeout">Per request; <see cref="DefaultTimeout"/> when null.</param>
    public QdrantVectorStore(Uri baseAddress, string? apiKey = null, TimeSpan? timeout = null)
    {
        _root = RootOf(baseAddress, nameof(baseAddress));
        _http = new HttpClient { BaseAddress = baseAddress, Timeout = timeout ?? DefaultTimeout };
        if (!string.IsNullOrEmpty(apiKey))
            _http.DefaultRequestHeaders.Add("api-key", apiKey);
        _ownsHttp = true;
    }

    /// <summary>A store on a caller-owned <see cref="HttpClient"/> whose <see cref="HttpClient.BaseAddress"/> is the Qdrant server.</summary>
    public QdrantVectorStore(HttpClient http)
    {
        ArgumentNullException.ThrowIfNull(http);
        _root = RootOf(http.BaseAddress, nameof(http));
        _http = http;
    }

    private static string RootOf(Uri? address, string parameter)
    {
        if (address is null || !address.IsAbsoluteUri)
            throw new ArgumentException("the Qdrant server's absolute address is needed (for example http://localhost:6333)", parameter);
        return address.AbsoluteUri.TrimEnd('/');
    }

    public void Dispose()
    {
        if (_ownsHttp)
            _http.Dispose();
    }

    // ---- collections ----

    public async ValueTask CreateCollectionAsync(string collection, CollectionSchema schema, CancellationToken cancellationToken = default)
    {
        CollectionName(collection);
        ArgumentNullException.ThrowIfNull(schema);
        schema.Validate();
        var wanted = new CollectionSchema(new Dictionary<string, VectorParams>(schema.Vectors, StringComparer.Ordinal));

        var existing = await GetCollectionAsync(collection, cancellationToken).ConfigureAwait(false);
        if (existing is null)
        {
            var body = QdrantJson.Write(w =>
            {
                w.WriteStartObject();
                w.WriteStartObject("vectors");
                foreach (var (name, p) in wanted.Vectors.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                {
                    w.WriteStartObject(name);
                    w.WriteNumber("size", p.Size);
                    w.WriteString("distance", QdrantJson.DistanceName(p.Distance));
                    w.WriteEndObject();
                }
                w.WriteEndObject();
                w.WriteEndObject();
            });
            try
            {
                using var _ = await SendAsync(HttpMethod.Put, CollectionPath(collection), body, collection, cancellationToken).ConfigureAwait(false);
                _schemas[collection] = wanted;
                return;
            }
            catch (VectorStoreException e) when (e.Kind == VectorStoreErrorKind.Conflict)
            {
                // Created by someone else since we looked (Qdrant answers 409): compare with theirs.
                existing = await ReadAfterConflictAsync(collection, e, cancellationToken).ConfigureAwait(false);
            }
        }
        if (!existing.SameAs(wanted))
        {
            throw new VectorStoreException(VectorStoreErrorKind.Conflict,
                $"collection '{collection}' exists with a different schema: it has {Describe(existing)}, asked for {Describe(wanted)}");
        }
    }

    // Right after a losing create, Qdrant may briefly not serve the winner's collection yet.
    private async Task<CollectionSchema> ReadAfterConflictAsync(string collection, VectorStoreException conflict, CancellationToken ct)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                if (await GetCollectionAsync(collection, ct).ConfigureAwait(false) is { } schema)
                    return schema;
            }
            catch (VectorStoreException e) when (e.Kind == VectorStoreErrorKind.Unavailable && attempt < 5)
            {
            }
            if (attempt >= 5)
                throw conflict;
            await Task.Delay(TimeSpan.FromMilliseconds(50 << attempt), ct).ConfigureAwait(false);
        }
    }

    private static string Describe(CollectionSchema s) => string.Join(", ",
        s.Vectors.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"'{kv.Key}' {kv.Value.Size} {kv.Value.Distance}"));

    public async ValueTask<CollectionSchema?> GetCollectionAsync(string collection, CancellationToken cancellationToken = default)
    {
        CollectionName(collection);
        using var doc = await SendAsync(HttpMethod.Get, CollectionPath(collection), null, collection, cancellationToken, nullOnNotFound: true).ConfigureAwait(false);
        if (doc is null)
        {
            _schemas.TryRemove(collection, out _);
            return null;
        }
        var schema = Parse(doc, "collection info", result =>
            QdrantJson.Schema(collection, result.GetProperty("config").GetProperty("params").GetProperty("vectors")));
        _schemas[collection] = schema;
        return schema;
    }

    public async ValueTask<IReadOnlyList<string>> ListCollectionsAsync(CancellationToken cancellationToken = default)
    {
        using var doc = await SendAsync(HttpMethod.Get, "/collections", null, null, cancellationToken).ConfigureAwait(false);
        return Parse(doc!, "collection list", result => result.GetProperty("collections").EnumerateArray()
            .Select(c => c.GetProperty("name").GetString()!)
            .Order(StringComparer.Ordinal)
            .ToList());
    }

    public async ValueTask<bool> DeleteCollectionAsync(string collection, CancellationToken cancellationToken = default)
    {
        CollectionName(collection);
        _schemas.TryRemove(collection, out _);
        using var doc = await SendAsync(HttpMethod.Delete, CollectionPath(collection), null, collection, cancellationToken, nullOnNotFound: true).ConfigureAwait(false);
        _schemas.TryRemove(collection, out _);
        if (doc is null)
            return false;
        // Qdrant deletes idempotently and says in "result" whether there was a collection.
        return Parse(doc, "collection delete", result => result.ValueKind != JsonValueKind.False);
    }

    // ---- points ----

    public async ValueTask UpsertAsync(string collection, IReadOnlyList<VectorPoint> points, CancellationToken cancellationToken = default)
    {
        CollectionName(collection);
        ArgumentNullException.ThrowIfNull(points);
        var schema = await SchemaAsync(collection, cancellationToken).ConfigureAwait(false);

        // The whole batch is checked before anything is sent.
        var payloads = new JsonDocument[points.Count];
        try
        {
            for (var i = 0; i < points.Count; i++)
            {
                var p = points[i] ?? throw Bad($"points[{i}] is null");
                Id(p.Id, $"points[{i}].id");
                var context = $"point '{p.Id}'";
                if (p.Vectors is null || p.Vectors.Count == 0)
                    throw Bad($"{context} has no vectors; a point carries at least one of the collection's named vectors");
                foreach (var (name, vector) in p.Vectors)
                {
                    if (vector is null)
                        throw Bad($"{context}: named vector '{name}' is null");
                    QdrantValidation.Vector(schema, name, vector, context);
                }
                payloads[i] = Payload(p.Payload, context);
            }
            if (points.Count == 0)
                return;

            var unnamed = schema.Vectors.Count == 1 && schema.Vectors.ContainsKey(QdrantJson.UnnamedVector);
            var body = QdrantJson.Write(w =>
            {
                w.WriteStartObject();
                w.WriteStartArray("points");
                for (var i = 0; i < points.Count; i++)
                {
                    var p = points[i];
                    w.WriteStartObject();
                    w.WriteString("id", QdrantPointId.For(p.Id));
                    if (unnamed)
                    {
                        w.WritePropertyName("vector");
                        QdrantJson.Floats(w, p.Vectors[QdrantJson.UnnamedVector]);
                    }
                    else
                    {
                        w.WriteStartObject("vector");
                        foreach (var (name, vector) in p.Vectors)
                        {
                            w.WritePropertyName(name);
                            QdrantJson.Floats(w, vector);
                        }
                        w.WriteEndObject();
                    }
                    w.WriteStartObject("payload");
                    w.WriteString(IdPayloadKey, p.Id);
                    foreach (var property in payloads[i].RootElement.EnumerateObject())
                        property.WriteTo(w);
                    w.WriteEndObject();
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            });
            using var doc = await SendAsync(HttpMethod.Put, PointsPath(collection, "?wait=true"), body, collection, cancellationToken).ConfigureAwait(false);
            RequireCompleted(doc!, collection, "upsert");
        }
        finally
        {
            foreach (var d in payloads)
                d?.Dispose();
        }
    }

    public async ValueTask DeleteAsync(string collection, IReadOnlyList<string> ids, CancellationToken cancellationToken = default)
    {
        CollectionName(collection);
        Ids(ids);
        await SchemaAsync(collection, cancellationToken).ConfigureAwait(false);
        if (ids.Count == 0)
            return;
        var body = QdrantJson.Write(w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("points");
            foreach (var id in ids.Select(QdrantPointId.For).Distinct(StringComparer.Ordinal))
                w.WriteStringValue(id);
            w.WriteEndArray();
            w.WriteEndObject();
        });
        using var doc = await SendAsync(HttpMethod.Post, PointsPath(collection, "/delete?wait=true"), body, collection, cancellationToken).ConfigureAwait(false);
        RequireCompleted(doc!, collection, "delete");
    }

    public async ValueTask DeleteAsync(string collection, Filter filter, CancellationToken cancellationToken = default)
    {
        CollectionName(collection);
        ArgumentNullException.ThrowIfNull(filter);
        QdrantValidation.Filter(filter);
        await SchemaAsync(collection, cancellationToken).ConfigureAwait(false);
        var body = QdrantJson.Write(w =>
        {
            w.WriteStartObject();
            w.WritePropertyName("filter");
            QdrantJson.Filter(w, filter);
            w.WriteEndObject();
        });
        using var doc = await SendAsync(HttpMethod.Post, PointsPath(collection, "/delete?wait=true"), body, collection, cancellationToken).ConfigureAwait(false);
        RequireCompleted(doc!, collection, "delete");
    }

    public async ValueTask<IReadOnlyList<VectorPoint>> GetAsync(string collection, IReadOnlyList<string> ids, bool withVectors = false, CancellationToken cancellationToken = default)
    {
        CollectionName(collection);
        Ids(ids);
        await SchemaAsync(collection, cancellationToken).ConfigureAwait(false);
        if (ids.Count == 0)
            return [];
        var body = QdrantJson.Write(w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("ids");
            foreach (var id in ids.Select(QdrantPointId.For).Distinct(StringComparer.Ordinal))
                w.WriteStringValue(id);
            w.WriteEndArray();
            w.WriteBoolean("with_payload", true);
            w.WriteBoolean("with_vector", withVectors);
            w.WriteEndObject();
        });
        using var doc = await SendAsync(HttpMethod.Post, PointsPath(collection, ""), body, collection, cancellationToken).ConfigureAwait(false);
        var found = Parse(doc!, "get points", result =>
        {
            var byQdrantId = new Dictionary<string, (string Payload, Dictionary<string, float[]> Vectors)>(StringComparer.Ordinal);
            foreach (var record in result.EnumerateArray())
            {
                var vectors = withVectors ? QdrantJson.Vectors(record) : new Dictionary<string, float[]>(StringComparer.Ordinal);
                byQdrantId[QdrantJson.QdrantId(record.GetProperty("id"))] = (QdrantJson.Payload(record), vectors);
            }
            return byQdrantId;
        });
        var points = new List<VectorPoint>(ids.Count);
        foreach (var id in ids)
        {
            if (found.TryGetValue(QdrantPointId.For(id), out var r))
                points.Add(new VectorPoint(id, r.Vectors, r.Payload));
        }
        return points;
    }

    public async ValueTask<long> CountAsync(string collection, Filter? filter = null, CancellationToken cancellationToken = default)
    {
        CollectionName(collection);
        QdrantValidation.Filter(filter);
        await SchemaAsync(collection, cancellationToken).ConfigureAwait(false);
        var body = QdrantJson.Write(w =>
        {
            w.WriteStartObject();
            if (filter is { IsEmpty: false })
            {
                w.WritePropertyName("filter");
                QdrantJson.Filter(w, filter);
            }
            w.WriteBoolean("exact", true);
            w.WriteEndObject();
        });
        using var doc = await SendAsync(HttpMethod.Post, PointsPath(collection, "/count"), body, collection, cancellationToken).ConfigureAwait(false);
        return Parse(doc!, "count", result => result.GetProperty("count").GetInt64());
    }

    public async ValueTask<ScrollPage> ScrollAsync(string collection, ScrollRequest request, CancellationToken cancellationToken = default)
    {
        CollectionName(collection);
        ArgumentNullException.ThrowIfNull(request);
        Limit(request.Limit);
        if (request.Offset is not null)
            Id(request.Offset, "scroll offset");
        QdrantValidation.Filter(request.Filter);
        await SchemaAsync(collection, cancellationToken).ConfigureAwait(false);
        var body = QdrantJson.Write(w =>
        {
            w.WriteStartObject();
            if (request.Offset is not null)
                w.WriteString("offset", QdrantPointId.For(request.Offset));
            // One point more than the page: its id is the next page's offset, in our ids rather than Qdrant's.
            w.WriteNumber("limit", request.Limit + 1);
            if (request.Filter is { IsEmpty: false })
            {
                w.WritePropertyName("filter");
                QdrantJson.Filter(w, request.Filter);
            }
            QdrantJson.WithPayload(w, request.WithPayload);
            w.WriteBoolean("with_vector", request.WithVectors);
            w.WriteEndObject();
        });
        using var doc = await SendAsync(HttpMethod.Post, PointsPath(collection, "/scroll"), body, collection, cancellationToken).ConfigureAwait(false);
        return Parse(doc!, "scroll", result =>
        {
            var points = new List<VectorPoint>(request.Limit);
            string? next = null;
            foreach (var record in result.GetProperty("points").EnumerateArray())
            {
                var id = QdrantJson.PointId(record);
                if (points.Count == request.Limit)
                {
                    next = id;
                    break;
                }
                points.Add(new VectorPoint(
                    id,
                    request.WithVectors ? QdrantJson.Vectors(record) : new Dictionary<string, float[]>(StringComparer.Ordinal),
                    request.WithPayload ? QdrantJson.Payload(record) : "{}"));
            }
            return new ScrollPage(points, next);
        });
    }

    public async ValueTask<IReadOnlyList<ScoredPoint>> SearchAsync(string collection, SearchRequest request, CancellationToken cancellationToken = default)
    {
        CollectionName(collection);
        ArgumentNullException.ThrowIfNull(request);
        var schema = await SchemaAsync(collection, cancellationToken).ConfigureAwait(false);
        QdrantValidation.Vector(schema, request.Vector, request.Query.Span, "query");
        Limit(request.Limit);
        if (request.Offset < 0)
            throw Bad($"offset must not be negative, got {request.Offset}");
        ScoreThreshold(request.ScoreThreshold);
        Ef(request.Ef);
        QdrantValidation.Filter(request.Filter);

        var body = QdrantJson.Write(w =>
        {
            w.WriteStartObject();
            w.WriteStartObject("query");
            w.WritePropertyName("nearest");
            QdrantJson.Floats(w, request.Query.Span);
            w.WriteEndObject();
            Using(w, request.Vector);
            if (request.Filter is { IsEmpty: false })
            {
                w.WritePropertyName("filter");
                QdrantJson.Filter(w, request.Filter);
            }
            SearchParams(w, request.Ef, request.Exact);
            if (request.ScoreThreshold is { } threshold)
                w.WriteNumber("score_threshold", threshold);
            w.WriteNumber("limit", request.Limit);
            if (request.Offset > 0)
                w.WriteNumber("offset", request.Offset);
            QdrantJson.WithPayload(w, request.WithPayload);
            w.WriteBoolean("with_vector", request.WithVectors);
            w.WriteEndObject();
        });
        using var doc = await SendAsync(HttpMethod.Post, PointsPath(collection, "/query"), body, collection, cancellationToken).ConfigureAwait(false);
        return Parse(doc!, "query", result => ScoredPoints(result, request.WithPayload, request.WithVectors));
    }

    // Sparse spaces are being added (issue 9); until then a sparse search is refused with the reason.
    public ValueTask<IReadOnlyList<ScoredPoint>> SearchSparseAsync(string collection, SparseSearchRequest request, CancellationToken cancellationToken = default) =>
        throw new VectorStoreException(VectorStoreErrorKind.BadRequest, "sparse vectors are not supported by this engine yet");

    public async ValueTask<IReadOnlyList<ScoredPoint>> RecommendAsync(string collection, RecommendRequest request, CancellationToken cancellationToken = default)
    {
        CollectionName(collection);
        ArgumentNullException.ThrowIfNull(request);
        var schema = await SchemaAsync(collection, cancellationToken).ConfigureAwait(false);
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
        QdrantValidation.Filter(request.Filter);
        if (request.Positive is null || request.Negative is null)
            throw Bad("recommend: positive and negative examples must be lists (empty when none)");
        if (!Enum.IsDefined(request.Strategy))
            throw Bad($"recommend: unknown strategy {request.Strategy}");
        if (request.Strategy == RecommendStrategy.AverageVector && request.Positive.Count == 0)
            throw Bad("recommend: the average-vector strategy needs at least one positive example");
        if (request.Positive.Count == 0 && request.Negative.Count == 0)
            throw Bad("recommend: needs at least one example");
        var exampleIds = new Dictionary<string, string>(StringComparer.Ordinal); // Qdrant id → ours
        CheckExamples(request.Positive, "positive");
        CheckExamples(request.Negative, "negative");

        var bestScore = request.Strategy == RecommendStrategy.BestScore;
        var body = QdrantJson.Write(w =>
        {
            w.WriteStartObject();
            w.WriteStartObject("query");
            w.WriteStartObject("recommend");
            Examples(w, "positive", request.Positive);
            Examples(w, "negative", request.Negative);
            w.WriteString("strategy", bestScore ? "best_score" : "average_vector");
            w.WriteEndObject();
            w.WriteEndObject();
            Using(w, request.Vector);
            // Example points are never returned, whatever the server does.
            if (exampleIds.Count > 0)
            {
                w.WritePropertyName("filter");
                QdrantJson.FilterExcluding(w, request.Filter, exampleIds.Keys);
            }
            else if (request.Filter is { IsEmpty: false })
            {
                w.WritePropertyName("filter");
                QdrantJson.Filter(w, request.Filter);
            }
            SearchParams(w, request.Ef, exact: false);
            // Best-score thresholds are applied here, to the scores as the interface defines them.
            if (request.ScoreThreshold is { } threshold && !bestScore)
                w.WriteNumber("score_threshold", threshold);
            w.WriteNumber("limit", request.Limit);
            QdrantJson.WithPayload(w, request.WithPayload);
            w.WriteBoolean("with_vector", request.WithVectors);
            w.WriteEndObject();
        });

        JsonDocument? doc;
        try
        {
            doc = await SendAsync(HttpMethod.Post, PointsPath(collection, "/query"), body, collection, cancellationToken).ConfigureAwait(false);
        }
        catch (VectorStoreException e) when (exampleIds.Keys.Any(uuid => e.Message.Contains(uuid, StringComparison.OrdinalIgnoreCase)))
        {
            // Qdrant names an example by its UUID; say which of ours it is.
            var named = exampleIds.Where(kv => e.Message.Contains(kv.Key, StringComparison.OrdinalIgnoreCase)).ToList();
            var text = named.Aggregate(e.Message, (m, kv) => m.Replace(kv.Key, $"'{kv.Value}'", StringComparison.OrdinalIgnoreCase));
            throw new VectorStoreException(e.Kind, e.Kind == VectorStoreErrorKind.NotFound
                ? $"recommend: example point {string.Join(", ", named.Select(kv => $"'{kv.Value}'"))} does not exist in collection '{collection}' ({text})"
                : $"recommend: {text}", e);
        }
        using (doc)
        {
            var hits = Parse(doc!, "query", result =>
                ScoredPoints(result, request.WithPayload, request.WithVectors));
            if (!bestScore)
                return hits;
            return hits
                .Where(h => request.ScoreThreshold is not { } t || h.Score >= t)
                .OrderByDescending(h => h.Score)
                .ToList();
        }

        void CheckExamples(IReadOnlyList<RecommendExample> examples, string kind)
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
                    QdrantValidation.Vector(schema, request.Vector, e.Vector, what);
                }
            }
        }
    }

    private static void Examples(Utf8JsonWriter w, string name, IReadOnlyList<RecommendExample> examples)
    {
        if (examples.Count == 0)
            return;
        w.WriteStartArray(name);
        foreach (var e in examples)
        {
            if (e.Id is not null)
                w.WriteStringValue(QdrantPointId.For(e.Id));
            else
                QdrantJson.Floats(w, e.Vector);
        }
        w.WriteEndArray();
    }

    private static void Using(Utf8JsonWriter w, string vector)
    {
        if (vector != QdrantJson.UnnamedVector)
            w.WriteString("using", vector);
    }

    private static void SearchParams(Utf8JsonWriter w, int? ef, bool exact)
    {
        if (ef is null && !exact)
            return;
        w.WriteStartObject("params");
        if (ef is { } e)
            w.WriteNumber("hnsw_ef", e);
        if (exact)
            w.WriteBoolean("exact", true);
        w.WriteEndObject();
    }

    private static List<ScoredPoint> ScoredPoints(JsonElement result, bool withPayload, bool withVectors)
    {
        var hits = new List<ScoredPoint>();
        foreach (var p in result.GetProperty("points").EnumerateArray())
        {
            hits.Add(new ScoredPoint(
                QdrantJson.PointId(p),
                p.GetProperty("score").GetSingle(),
                withPayload ? QdrantJson.Payload(p) : null,
                withVectors ? QdrantJson.Vectors(p) : null));
        }
        return hits;
    }

    // ---- plumbing ----

    private static string CollectionPath(string collection) => "/collections/" + Uri.EscapeDataString(collection);

    private static string PointsPath(string collection, string rest) => CollectionPath(collection) + "/points" + rest;

    /// <summary>The collection's schema, from the cache or the server; NotFound when there is no such collection.</summary>
    private async ValueTask<CollectionSchema> SchemaAsync(string collection, CancellationToken ct)
    {
        if (_schemas.TryGetValue(collection, out var schema))
            return schema;
        return await GetCollectionAsync(collection, ct).ConfigureAwait(false)
            ?? throw new VectorStoreException(VectorStoreErrorKind.NotFound, $"collection '{collection}' does not exist");
    }

    private static void RequireCompleted(JsonDocument doc, string collection, string what)
    {
        var status = Parse(doc, what, result => result.GetProperty("status").GetString());
        if (status != "completed")
        {
            throw new VectorStoreException(VectorStoreErrorKind.Unavailable,
                $"Qdrant reports the {what} on collection '{collection}' as '{status}', not completed; it may or may not be applied");
        }
    }

    /// <summary>Reads the response's "result"; a response of another shape means the server is not the Qdrant we speak to.</summary>
    private static T Parse<T>(JsonDocument doc, string what, Func<JsonElement, T> read)
    {
        try
        {
            return read(doc.RootElement.GetProperty("result"));
        }
        catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or FormatException or ArgumentException)
        {
            throw new VectorStoreException(VectorStoreErrorKind.Unavailable,
                $"Qdrant's answer to {what} has an unexpected shape ({e.Message})", e);
        }
    }

    /// <summary>
    /// Sends one request and returns the parsed JSON body of a 2xx answer (null for a 404 when
    /// <paramref name="nullOnNotFound"/>). Failures become <see cref="VectorStoreException"/>s: 404 NotFound, 400/422
    /// BadRequest, 409 Conflict, anything else (unreachable, timed out, 5xx, unreadable) Unavailable.
    /// </summary>
    private async Task<JsonDocument?> SendAsync(HttpMethod method, string path, byte[]? body, string? collection,
        CancellationToken ct, bool nullOnNotFound = false)
    {
        ct.ThrowIfCancellationRequested();
        var url = _root + path;
        using var request = new HttpRequestMessage(method, url);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(Json));
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue(Json);
        }

        HttpStatusCode status;
        string? reason;
        byte[] bytes;
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, ct).ConfigureAwait(false);
            status = response.StatusCode;
            reason = response.ReasonPhrase;
            bytes = await response.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            throw;
        }
        catch (OperationCanceledException e)
        {
            throw new VectorStoreException(VectorStoreErrorKind.Unavailable,
                $"Qdrant did not answer {method} {url} within {_http.Timeout.TotalSeconds:0.###} s", e);
        }
        catch (HttpRequestException e)
        {
            throw new VectorStoreException(VectorStoreErrorKind.Unavailable,
                $"Qdrant at {url} cannot be reached ({method}): {e.Message}", e);
        }

        var code = (int)status;
        if (code is >= 200 and < 300)
        {
            try
            {
                return JsonDocument.Parse(bytes);
            }
            catch (JsonException e)
            {
                throw new VectorStoreException(VectorStoreErrorKind.Unavailable,
                    $"Qdrant answered {method} {url} with a body that is not JSON: {e.Message}", e);
            }
        }

        var error = ErrorText(bytes);
        if (collection is not null && code is 400 or 404 or 422)
            _schemas.TryRemove(collection, out _); // the cached schema may be stale
        switch (code)
        {
            case 404 when nullOnNotFound:
                return null;
            case 404:
                throw new VectorStoreException(VectorStoreErrorKind.NotFound,
                    collection is null ? $"Qdrant: {error}" : $"collection '{collection}': {error}");
            case 400 or 422:
                throw new VectorStoreException(VectorStoreErrorKind.BadRequest, $"Qdrant rejected {method} {path}: {error}");
            case 409:
                throw new VectorStoreException(VectorStoreErrorKind.Conflict, $"Qdrant: {error}");
            case 413:
                throw new VectorStoreException(VectorStoreErrorKind.BadRequest,
                    $"Qdrant refused {method} {path} as too large ({body?.Length ?? 0} bytes; its limit is service.max_request_size_mb): send fewer points per call");
            default:
                throw new VectorStoreException(VectorStoreErrorKind.Unavailable,
                    $"Qdrant answered {method} {url} with {code} {reason}: {error}");
        }
    }

    /// <summary>Qdrant's <c>status.error</c>, else the start of the body.</summary>
    private static string ErrorText(byte[] body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            if (doc.RootElement.ValueKind == JsonValueKind.Object
                && doc.RootElement.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.Object
                && s.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.String)
                return e.GetString()!;
        }
        catch (JsonException)
        {
        }
        var text = Encoding.UTF8.GetString(body, 0, Math.Min(body.Length, 500)).Trim();
        return text.Length == 0 ? "(no body)" : text;
    }
}
