using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using Grpc.Core;
using Grpc.Net.Client;
using Qdrant.Client.Grpc;
using static Platform.VectorStore.Qdrant.QdrantValidation;
using G = Qdrant.Client.Grpc;

namespace Platform.VectorStore.Qdrant;

/// <summary>
/// <see cref="IVectorStore"/> on a Qdrant server, over its gRPC API (Qdrant.Client's generated clients; requests are
/// built by <see cref="QdrantRequests"/> and answers read by <see cref="QdrantResponses"/>).
/// </summary>
/// <remarks>
/// <para>Ids: Qdrant accepts only unsigned integers and UUIDs, so each of our string ids becomes a name-based UUID
/// (<see cref="QdrantPointId"/>) and the original id is kept in the payload under <see cref="IdPayloadKey"/>, which
/// results are mapped back by and which is stripped from every payload returned. User payloads may not use that key.
/// A point this backend did not write (no such key) comes back under Qdrant's own id.</para>
/// <para>Writes are sent with <c>wait</c> and count as done only when Qdrant reports them <c>Completed</c>.
/// Requests are validated here before anything is sent (a batch as a whole), failing with the error kinds the
/// interface documents and messages that name the culprit (point, named vector, sizes); each collection's schema is
/// cached for that, refreshed when a collection is created, deleted, found missing, or a request on it is rejected.
/// Qdrant's gRPC status codes map NotFound → NotFound, InvalidArgument → BadRequest (with Qdrant's text),
/// AlreadyExists → Conflict, and anything else (unreachable, timed out, refused, failed) → Unavailable, naming the
/// server's address.</para>
/// <para>Scroll: <see cref="ScrollPage.NextOffset"/> is one of our ids (the first point of the next page; the page
/// is read one point long to learn it), so an offset is always an id, as with the embedded engine; the order is
/// Qdrant's (by point UUID).</para>
/// <para>Recommend with <see cref="RecommendStrategy.BestScore"/>: Qdrant's scores (σ of the best positive
/// similarity, or −σ of the best negative one, with its "fast sigmoid") are what the interface defines, so they pass
/// through; the score threshold is applied here, to those scores.</para>
/// <para>Vectors are sent in the dense / sparse form of Qdrant's current protocol (the deprecated flat
/// <c>data</c> field is only read, from older servers).</para>
/// </remarks>
public sealed class QdrantVectorStore : IVectorStore, IDisposable
{
    /// <summary>The payload key that holds a point's original id.</summary>
    public const string IdPayloadKey = "_pid";

    /// <summary>The deadline of each call unless one is given.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    // gRPC's default 4 MB answer limit is one scroll page of 10,000 small points; a page of 10,000 512-d points with
    // payloads is ~25 MB. The bound stays, so a runaway answer fails instead of exhausting memory.
    private const int MaxReceiveBytes = 256 * 1024 * 1024;

    private readonly GrpcChannel _channel;
    private readonly QdrantGrpcClient _client;
    private readonly Metadata? _headers;
    private readonly TimeSpan _timeout;
    private readonly ConcurrentDictionary<string, CollectionSchema> _schemas = new(StringComparer.Ordinal);

    /// <summary>A store on the Qdrant server whose gRPC endpoint is <paramref name="address"/>.</summary>
    /// <param name="address">For example <c>http://localhost:6334</c> (Qdrant's gRPC port; 6333 is its REST port).</param>
    /// <param name="apiKey">Sent as the <c>api-key</c> header of every call when given.</param>
    /// <param name="timeout">The deadline of each call; <see cref="DefaultTimeout"/> when null.</param>
    public QdrantVectorStore(Uri address, string? apiKey = null, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (!address.IsAbsoluteUri || (address.Scheme != Uri.UriSchemeHttp && address.Scheme != Uri.UriSchemeHttps))
            throw new ArgumentException($"the Qdrant server's gRPC address must be an absolute http:// or https:// URL (for example http://localhost:6334), got '{address}'", nameof(address));
        _timeout = timeout ?? DefaultTimeout;
        if (_timeout <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(timeout), _timeout, "the call timeout must be positive");
        Address = address.GetLeftPart(UriPartial.Authority);
        if (!string.IsNullOrEmpty(apiKey))
            _headers = new Metadata { { "api-key", apiKey } };
        _channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            MaxReceiveMessageSize = MaxReceiveBytes,
            HttpHandler = new SocketsHttpHandler
            {
                // An address that does not answer fails within the call's deadline rather than the OS's connect timeout.
                ConnectTimeout = _timeout < TimeSpan.FromSeconds(10) ? _timeout : TimeSpan.FromSeconds(10),
                EnableMultipleHttp2Connections = true,
                KeepAlivePingDelay = TimeSpan.FromSeconds(60),
                KeepAlivePingTimeout = TimeSpan.FromSeconds(30),
                PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            },
            DisposeHttpClient = true,
        });
        _client = new QdrantGrpcClient(_channel);
    }

    /// <summary>The server's address (scheme, host and port), as error messages name it.</summary>
    public string Address { get; }

    public void Dispose()
    {
        _client.Dispose();
        _channel.Dispose();
    }

    // ---- collections ----

    public async ValueTask CreateCollectionAsync(string collection, CollectionSchema schema, CancellationToken cancellationToken = default)
    {
        CollectionName(collection);
        ArgumentNullException.ThrowIfNull(schema);
        schema.Validate();
        SparseSchema(schema);
        var wanted = new CollectionSchema(new Dictionary<string, VectorParams>(schema.Vectors, StringComparer.Ordinal))
        {
            SparseVectors = new Dictionary<string, SparseVectorParams>(schema.SparseVectors, StringComparer.Ordinal),
        };

        var existing = await GetCollectionAsync(collection, cancellationToken).ConfigureAwait(false);
        if (existing is null)
        {
            try
            {
                await CallAsync("create collection", collection,
                    o => _client.Collections.CreateAsync(QdrantRequests.CreateCollection(collection, wanted), o), cancellationToken).ConfigureAwait(false);
                _schemas[collection] = wanted;
                return;
            }
            catch (VectorStoreException e) when (e.Kind == VectorStoreErrorKind.Conflict
                || (e.Kind == VectorStoreErrorKind.BadRequest && e.Message.Contains("already exists", StringComparison.OrdinalIgnoreCase)))
            {
                // Created by someone else since we looked: compare with theirs.
                existing = await ReadAfterConflictAsync(collection, e, cancellationToken).ConfigureAwait(false);
            }
        }
        if (!SameSchema(existing, wanted))
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
                throw new VectorStoreException(VectorStoreErrorKind.Conflict, conflict.Message, conflict);
            await Task.Delay(TimeSpan.FromMilliseconds(50 << attempt), ct).ConfigureAwait(false);
        }
    }

    /// <summary>Same dense spaces (names, sizes, distances) and same sparse spaces (names, IDF).</summary>
    internal static bool SameSchema(CollectionSchema a, CollectionSchema b) =>
        a.SameAs(b)
        && a.SparseVectors.Count == b.SparseVectors.Count
        && a.SparseVectors.All(kv => b.SparseVectors.TryGetValue(kv.Key, out var p) && p == kv.Value);

    internal static string Describe(CollectionSchema s) => string.Join(", ",
        s.Vectors.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"'{kv.Key}' {kv.Value.Size} {kv.Value.Distance}")
            .Concat(s.SparseVectors.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"'{kv.Key}' sparse{(kv.Value.Idf ? " IDF" : "")}")));

    public async ValueTask<CollectionSchema?> GetCollectionAsync(string collection, CancellationToken cancellationToken = default)
    {
        CollectionName(collection);
        GetCollectionInfoResponse response;
        try
        {
            response = await CallAsync("get collection", collection,
                o => _client.Collections.GetAsync(new GetCollectionInfoRequest { CollectionName = collection }, o), cancellationToken).ConfigureAwait(false);
        }
        catch (VectorStoreException e) when (e.Kind == VectorStoreErrorKind.NotFound)
        {
            _schemas.TryRemove(collection, out _);
            return null;
        }
        var schema = Read("collection info", () => QdrantResponses.Schema(collection, response.Result));
        _schemas[collection] = schema;
        return schema;
    }

    public async ValueTask<IReadOnlyList<string>> ListCollectionsAsync(CancellationToken cancellationToken = default)
    {
        var response = await CallAsync("list collections", null,
            o => _client.Collections.ListAsync(new ListCollectionsRequest(), o), cancellationToken).ConfigureAwait(false);
        return response.Collections.Select(c => c.Name).Order(StringComparer.Ordinal).ToList();
    }

    public async ValueTask<bool> DeleteCollectionAsync(string collection, CancellationToken cancellationToken = default)
    {
        CollectionName(collection);
        _schemas.TryRemove(collection, out _);
        try
        {
            var response = await CallAsync("delete collection", collection,
                o => _client.Collections.DeleteAsync(new DeleteCollection { CollectionName = collection }, o), cancellationToken).ConfigureAwait(false);
            // Qdrant deletes idempotently and says in "result" whether there was a collection.
            return response.Result;
        }
        catch (VectorStoreException e) when (e.Kind == VectorStoreErrorKind.NotFound)
        {
            return false;
        }
        finally
        {
            _schemas.TryRemove(collection, out _);
        }
    }

    // ---- points ----

    public async ValueTask UpsertAsync(string collection, IReadOnlyList<VectorPoint> points, CancellationToken cancellationToken = default)
    {
        CollectionName(collection);
        ArgumentNullException.ThrowIfNull(points);
        var schema = await SchemaAsync(collection, cancellationToken).ConfigureAwait(false);

        // The whole batch is checked, and its request built, before anything is sent.
        var payloads = QdrantValidation.Points(schema, points);
        try
        {
            if (points.Count == 0)
                return;
            var request = QdrantRequests.Upsert(collection, schema, points, payloads);
            var response = await CallAsync("upsert", collection, o => _client.Points.UpsertAsync(request, o), cancellationToken).ConfigureAwait(false);
            RequireCompleted(response.Result, collection, "upsert");
        }
        finally
        {
            foreach (var d in payloads)
                d.Dispose();
        }
    }

    public async ValueTask DeleteAsync(string collection, IReadOnlyList<string> ids, CancellationToken cancellationToken = default)
    {
        CollectionName(collection);
        Ids(ids);
        await SchemaAsync(collection, cancellationToken).ConfigureAwait(false);
        if (ids.Count == 0)
            return;
        var response = await CallAsync("delete", collection,
            o => _client.Points.DeleteAsync(QdrantRequests.DeleteIds(collection, ids), o), cancellationToken).ConfigureAwait(false);
        RequireCompleted(response.Result, collection, "delete");
    }

    public async ValueTask DeleteAsync(string collection, Filter filter, CancellationToken cancellationToken = default)
    {
        CollectionName(collection);
        ArgumentNullException.ThrowIfNull(filter);
        QdrantValidation.Filter(filter);
        await SchemaAsync(collection, cancellationToken).ConfigureAwait(false);
        var response = await CallAsync("delete", collection,
            o => _client.Points.DeleteAsync(QdrantRequests.DeleteMatching(collection, filter), o), cancellationToken).ConfigureAwait(false);
        RequireCompleted(response.Result, collection, "delete");
    }

    public async ValueTask<IReadOnlyList<VectorPoint>> GetAsync(string collection, IReadOnlyList<string> ids, bool withVectors = false, CancellationToken cancellationToken = default)
    {
        CollectionName(collection);
        Ids(ids);
        await SchemaAsync(collection, cancellationToken).ConfigureAwait(false);
        if (ids.Count == 0)
            return [];
        var response = await CallAsync("get points", collection,
            o => _client.Points.GetAsync(QdrantRequests.Get(collection, ids, withVectors), o), cancellationToken).ConfigureAwait(false);
        var byQdrantId = new Dictionary<string, VectorPoint>(StringComparer.Ordinal);
        foreach (var record in response.Result)
        {
            var point = QdrantResponses.Point(record, withPayload: true, withVectors);
            byQdrantId[QdrantResponses.QdrantId(record.Id)] = point;
        }
        var points = new List<VectorPoint>(ids.Count);
        foreach (var id in ids)
        {
            if (byQdrantId.TryGetValue(QdrantPointId.For(id), out var p))
                points.Add(p with { Id = id });
        }
        return points;
    }

    public async ValueTask<long> CountAsync(string collection, Filter? filter = null, CancellationToken cancellationToken = default)
    {
        CollectionName(collection);
        QdrantValidation.Filter(filter);
        await SchemaAsync(collection, cancellationToken).ConfigureAwait(false);
        var response = await CallAsync("count", collection,
            o => _client.Points.CountAsync(QdrantRequests.Count(collection, filter), o), cancellationToken).ConfigureAwait(false);
        return (long)response.Result.Count;
    }

    public async ValueTask<ScrollPage> ScrollAsync(string collection, ScrollRequest request, CancellationToken cancellationToken = default)
    {
        CollectionName(collection);
        ArgumentNullException.ThrowIfNull(request);
        QdrantValidation.Scroll(request);
        await SchemaAsync(collection, cancellationToken).ConfigureAwait(false);
        var response = await CallAsync("scroll", collection,
            o => _client.Points.ScrollAsync(QdrantRequests.Scroll(collection, request), o), cancellationToken).ConfigureAwait(false);
        var points = new List<VectorPoint>(Math.Min(request.Limit, response.Result.Count));
        string? next = null;
        foreach (var record in response.Result)
        {
            if (points.Count == request.Limit)
            {
                next = QdrantResponses.IdOf(record.Id, record.Payload);
                break;
            }
            points.Add(QdrantResponses.Point(record, request.WithPayload, request.WithVectors));
        }
        return new ScrollPage(points, next);
    }

    public async ValueTask<IReadOnlyList<ScoredPoint>> SearchAsync(string collection, SearchRequest request, CancellationToken cancellationToken = default)
    {
        CollectionName(collection);
        ArgumentNullException.ThrowIfNull(request);
        var schema = await SchemaAsync(collection, cancellationToken).ConfigureAwait(false);
        QdrantValidation.Search(schema, request);
        var response = await CallAsync("query", collection,
            o => _client.Points.QueryAsync(QdrantRequests.Search(collection, request), o), cancellationToken).ConfigureAwait(false);
        return QdrantResponses.Hits(response.Result, request.WithPayload, request.WithVectors);
    }

    public async ValueTask<IReadOnlyList<ScoredPoint>> SearchSparseAsync(string collection, SparseSearchRequest request, CancellationToken cancellationToken = default)
    {
        CollectionName(collection);
        ArgumentNullException.ThrowIfNull(request);
        var schema = await SchemaAsync(collection, cancellationToken).ConfigureAwait(false);
        QdrantValidation.SparseSearch(schema, request);
        // A query with no terms shares an index with no point.
        if (request.Query.Indices.Length == 0)
            return [];
        var response = await CallAsync("sparse query", collection,
            o => _client.Points.QueryAsync(QdrantRequests.SearchSparse(collection, request), o), cancellationToken).ConfigureAwait(false);
        return QdrantResponses.Hits(response.Result, request.WithPayload, withVectors: false);
    }

    public async ValueTask<IReadOnlyList<ScoredPoint>> RecommendAsync(string collection, RecommendRequest request, CancellationToken cancellationToken = default)
    {
        CollectionName(collection);
        ArgumentNullException.ThrowIfNull(request);
        var schema = await SchemaAsync(collection, cancellationToken).ConfigureAwait(false);
        var exampleIds = QdrantValidation.Recommend(schema, request); // Qdrant id → ours

        QueryResponse response;
        try
        {
            response = await CallAsync("recommend", collection,
                o => _client.Points.QueryAsync(QdrantRequests.Recommend(collection, request), o), cancellationToken).ConfigureAwait(false);
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
        var hits = QdrantResponses.Hits(response.Result, request.WithPayload, request.WithVectors);
        if (request.Strategy != RecommendStrategy.BestScore)
            return hits;
        return hits
            .Where(h => request.ScoreThreshold is not { } t || h.Score >= t)
            .OrderByDescending(h => h.Score)
            .ToList();
    }

    // ---- plumbing ----

    /// <summary>The collection's schema, from the cache or the server; NotFound when there is no such collection.</summary>
    private async ValueTask<CollectionSchema> SchemaAsync(string collection, CancellationToken ct)
    {
        if (_schemas.TryGetValue(collection, out var schema))
            return schema;
        return await GetCollectionAsync(collection, ct).ConfigureAwait(false)
            ?? throw new VectorStoreException(VectorStoreErrorKind.NotFound, $"collection '{collection}' does not exist");
    }

    private static void RequireCompleted(UpdateResult? result, string collection, string what)
    {
        var status = result?.Status ?? UpdateStatus.UnknownUpdateStatus;
        if (status != UpdateStatus.Completed)
        {
            throw new VectorStoreException(VectorStoreErrorKind.Unavailable,
                $"Qdrant reports the {what} on collection '{collection}' as {status}, not Completed; it may or may not be applied");
        }
    }

    /// <summary>Reads an answer; one of another shape means the server is not the Qdrant we speak to.</summary>
    private static T Read<T>(string what, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (Exception e) when (e is FormatException or NullReferenceException or InvalidOperationException)
        {
            throw new VectorStoreException(VectorStoreErrorKind.Unavailable, $"Qdrant's answer to {what} has an unexpected shape ({e.Message})", e);
        }
    }

    /// <summary>
    /// Makes one call with this store's deadline and headers. A failure becomes a <see cref="VectorStoreException"/>
    /// (<see cref="MapError"/>); the caller's cancellation stays an <see cref="OperationCanceledException"/>.
    /// </summary>
    private async Task<T> CallAsync<T>(string operation, string? collection, Func<CallOptions, AsyncUnaryCall<T>> call, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var options = new CallOptions(_headers, DateTime.UtcNow + _timeout, ct);
        try
        {
            using var pending = call(options);
            return await pending.ResponseAsync.ConfigureAwait(false);
        }
        catch (RpcException e) when (ct.IsCancellationRequested)
        {
            throw new OperationCanceledException($"{operation} was cancelled", e, ct);
        }
        catch (RpcException e)
        {
            if (collection is not null && e.StatusCode is StatusCode.InvalidArgument or StatusCode.NotFound or StatusCode.FailedPrecondition)
                _schemas.TryRemove(collection, out _); // the cached schema may be stale
            throw MapError(e.StatusCode, e.Status.Detail, operation, collection, Address, _timeout, e);
        }
    }

    /// <summary>What a gRPC status from Qdrant means for our callers: the error kind and a message naming what failed.</summary>
    internal static VectorStoreException MapError(StatusCode code, string? detail, string operation, string? collection, string address, TimeSpan timeout, Exception? inner = null)
    {
        var text = string.IsNullOrWhiteSpace(detail) ? "(no detail)" : detail.Trim();
        switch (code)
        {
            case StatusCode.NotFound:
                return new(VectorStoreErrorKind.NotFound, collection is null ? $"Qdrant: {text}" : $"collection '{collection}': {text}", inner);
            case StatusCode.InvalidArgument or StatusCode.OutOfRange:
                return new(VectorStoreErrorKind.BadRequest, $"Qdrant rejected the {operation}{On(collection)}: {text}", inner);
            case StatusCode.AlreadyExists:
                return new(VectorStoreErrorKind.Conflict, collection is null ? $"Qdrant: {text}" : $"collection '{collection}': {text}", inner);
            case StatusCode.FailedPrecondition when operation == "create collection":
                return new(VectorStoreErrorKind.Conflict, $"Qdrant refused to create collection '{collection}': {text}", inner);
            case StatusCode.FailedPrecondition:
                return new(VectorStoreErrorKind.BadRequest, $"Qdrant refused the {operation}{On(collection)}: {text}", inner);
            case StatusCode.ResourceExhausted when TooLarge(text):
                return new(VectorStoreErrorKind.BadRequest,
                    $"the {operation}{On(collection)} is too large for one gRPC message ({text}): send or ask for fewer points per call", inner);
            case StatusCode.DeadlineExceeded:
                return new(VectorStoreErrorKind.Unavailable,
                    $"Qdrant at {address} did not answer the {operation}{On(collection)} within {timeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s", inner);
            case StatusCode.Unauthenticated or StatusCode.PermissionDenied:
                return new(VectorStoreErrorKind.Unavailable,
                    $"Qdrant at {address} refused the {operation}{On(collection)} ({code}: {text}); check the API key (VectorStore:Qdrant:ApiKey)", inner);
            default:
                var hint = code is StatusCode.Internal or StatusCode.Unknown or StatusCode.Unimplemented
                    && (text.Contains("HTTP/2", StringComparison.OrdinalIgnoreCase) || text.Contains("protocol", StringComparison.OrdinalIgnoreCase)
                        || text.Contains("content-type", StringComparison.OrdinalIgnoreCase))
                    ? "; is this Qdrant's gRPC port (6334 by default; 6333 is REST)?"
                    : "";
                return new(VectorStoreErrorKind.Unavailable,
                    $"Qdrant at {address} cannot be reached or failed ({operation}{On(collection)}): {code}: {text}{hint}", inner);
        }

        static string On(string? collection) => collection is null ? "" : $" on collection '{collection}'";

        static bool TooLarge(string text) =>
            text.Contains("exceeds the maximum", StringComparison.OrdinalIgnoreCase)
            || text.Contains("larger than max", StringComparison.OrdinalIgnoreCase)
            || text.Contains("too large", StringComparison.OrdinalIgnoreCase);
    }
}
