using System.Globalization;
using System.Text.Json;
using Platform.Tests;
using Platform.VectorStore.Qdrant;

namespace Platform.VectorStore.Tests.Qdrant;

/// <summary>A <see cref="QdrantVectorStore"/> whose every request goes through a <see cref="QdrantContractHandler"/>.</summary>
internal sealed class QdrantHarness : IDisposable
{
    public const string BaseAddress = "http://qdrant.test:6333/";

    private static readonly Lock SpecGate = new();
    private static OpenApiDocument? _spec;

    private readonly HttpClient _http;

    public QdrantHarness()
    {
        Handler = new QdrantContractHandler(Spec());
        _http = new HttpClient(Handler) { BaseAddress = new Uri(BaseAddress) };
        Store = new QdrantVectorStore(_http);
    }

    /// <summary>Qdrant's OpenAPI document from ../shared (skips the calling test when it is absent), parsed once.</summary>
    public static OpenApiDocument Spec()
    {
        var path = RepoPaths.RequireShared("qdrant/openapi.json");
        lock (SpecGate)
            return _spec ??= OpenApiDocument.Load(path);
    }

    public QdrantContractHandler Handler { get; }
    public QdrantVectorStore Store { get; }

    public QdrantHarness On(string operationId, params CannedResponse[] responses)
    {
        Handler.On(operationId, responses);
        return this;
    }

    /// <summary>Queues the collection info of the test collection (image 4 Cosine, text 3 Dot, dist 2 Euclid).</summary>
    public QdrantHarness WithTestCollection() => On("get_collection", CannedResponse.Ok(Canned.CollectionInfo(Canned.TestVectors)));

    /// <summary>Every request matched the spec and every canned answer was asked for.</summary>
    public void AssertContract()
    {
        Assert.True(Handler.Violations.Count == 0, "requests that break Qdrant's OpenAPI spec:\n" + string.Join("\n", Handler.Violations));
        Assert.True(Handler.Unused.Count == 0, "canned responses never asked for: " + string.Join(", ", Handler.Unused));
    }

    /// <summary>The body of the only call to an operation.</summary>
    public JsonElement BodyOf(string operationId) => Handler.CallsTo(operationId).Single().Json;

    public void Dispose()
    {
        Store.Dispose();
        _http.Dispose();
    }
}

/// <summary>Hand-built Qdrant response results (each is validated against the spec when queued).</summary>
internal static class Canned
{
    public static readonly (string Name, int Size, string Distance)[] TestVectors =
        [("image", 4, "Cosine"), ("text", 3, "Dot"), ("dist", 2, "Euclid")];

    public static CollectionSchema TestSchema => new(new Dictionary<string, VectorParams>
    {
        ["image"] = new(4, Distance.Cosine),
        ["text"] = new(3, Distance.Dot),
        ["dist"] = new(2, Distance.Euclid),
    });

    public static string CollectionInfo((string Name, int Size, string Distance)[] vectors) =>
        CollectionInfoWith("{" + string.Join(",", vectors.Select(v =>
            $$"""{{Q(v.Name)}}:{"size":{{v.Size}},"distance":{{Q(v.Distance)}},"on_disk":false}""")) + "}");

    public static string CollectionInfoUnnamed(int size, string distance) =>
        CollectionInfoWith($$"""{"size":{{size}},"distance":{{Q(distance)}}}""");

    private static string CollectionInfoWith(string vectorsConfig) => $$"""
        {
          "status": "green",
          "optimizer_status": "ok",
          "segments_count": 2,
          "points_count": 0,
          "indexed_vectors_count": 0,
          "config": {
            "params": {"vectors": {{vectorsConfig}}, "shard_number": 1, "replication_factor": 1, "write_consistency_factor": 1, "on_disk_payload": true},
            "hnsw_config": {"m": 16, "ef_construct": 100, "full_scan_threshold": 10000},
            "optimizer_config": {"deleted_threshold": 0.2, "vacuum_min_vector_number": 1000, "default_segment_number": 0, "flush_interval_sec": 5},
            "wal_config": {"wal_capacity_mb": 32, "wal_segments_ahead": 0}
          },
          "payload_schema": {}
        }
        """;

    public const string Completed = """{"operation_id": 17, "status": "completed"}""";

    /// <summary>A stored point as Qdrant returns it: UUID id, our id in the payload.</summary>
    public static string Record(string id, string payload = "{}", string? vectors = null) =>
        $$"""{"id":{{Q(QdrantPointId.For(id))}},"payload":{{WithPid(id, payload)}}{{(vectors is null ? "" : $",\"vector\":{vectors}")}}}""";

    /// <summary>A hit as Qdrant's query API returns it.</summary>
    public static string Hit(string id, float score, string? payload = "{}", string? vectors = null) =>
        $$"""{"id":{{Q(QdrantPointId.For(id))}},"version":3,"score":{{score.ToString("R", CultureInfo.InvariantCulture)}}{{(payload is null ? "" : $",\"payload\":{WithPid(id, payload)}")}}{{(vectors is null ? "" : $",\"vector\":{vectors}")}}}""";

    public static string Points(params string[] points) => $$"""{"points":[{{string.Join(",", points)}}]}""";

    private static string WithPid(string id, string payload)
    {
        var inner = payload.Trim()[1..^1].Trim();
        return $$"""{"_pid":{{Q(id)}}{{(inner.Length > 0 ? "," + inner : "")}}}""";
    }

    public static string Q(string s) => JsonSerializer.Serialize(s);
}
