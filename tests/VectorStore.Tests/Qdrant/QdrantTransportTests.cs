using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Platform.VectorStore.Qdrant;
using G = Qdrant.Client.Grpc;

namespace Platform.VectorStore.Tests.Qdrant;

/// <summary>
/// The store's gRPC channel over a real socket: what reaches the wire (path, api-key header, request bytes) and how
/// transport failures and status codes come back. The endpoint is a loopback HTTP/2 listener that answers each call
/// as a test says; no Qdrant server can be had here (see the behavioural suite for one).
/// </summary>
public sealed class QdrantTransportTests
{
    [Fact]
    public async Task A_closed_port_fails_fast_as_unavailable_naming_the_address()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        using var store = new QdrantVectorStore(new Uri($"http://127.0.0.1:{port}"));

        var clock = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<VectorStoreException>(() => store.GetCollectionAsync("products").AsTask());

        Assert.Equal(VectorStoreErrorKind.Unavailable, e.Kind);
        Assert.Contains($"http://127.0.0.1:{port}", e.Message, StringComparison.Ordinal);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"a refused connection took {clock.Elapsed.TotalSeconds:0.0} s to report");
    }

    [Fact]
    public async Task The_api_key_goes_with_every_call_to_qdrants_service_paths()
    {
        await using var server = await LoopbackGrpc.StartAsync(_ => Answer.Status(StatusCode.NotFound, "Not found: Collection `products` doesn't exist!"));
        using var store = new QdrantVectorStore(server.Address, apiKey: "s3cret");

        Assert.Null(await store.GetCollectionAsync("products"));
        await Assert.ThrowsAsync<VectorStoreException>(() => store.ListCollectionsAsync().AsTask());

        Assert.Equal(["/qdrant.Collections/Get", "/qdrant.Collections/List"], server.Calls.Select(c => c.Path));
        Assert.All(server.Calls, c => Assert.Equal("s3cret", c.ApiKey));
        Assert.Equal("products", G.GetCollectionInfoRequest.Parser.ParseFrom(server.Calls[0].Body).CollectionName);
    }

    [Fact]
    public async Task Without_an_api_key_no_header_is_sent()
    {
        await using var server = await LoopbackGrpc.StartAsync(_ => Answer.Message(new G.ListCollectionsResponse()));
        using var store = new QdrantVectorStore(server.Address);
        Assert.Empty(await store.ListCollectionsAsync());
        Assert.Null(Assert.Single(server.Calls).ApiKey);
    }

    [Fact]
    public async Task A_server_that_does_not_answer_in_time_is_unavailable_and_says_how_long_it_waited()
    {
        await using var server = await LoopbackGrpc.StartAsync(_ => Answer.Hang);
        using var store = new QdrantVectorStore(server.Address, timeout: TimeSpan.FromMilliseconds(300));

        var e = await Assert.ThrowsAsync<VectorStoreException>(() => store.ListCollectionsAsync().AsTask());

        Assert.Equal(VectorStoreErrorKind.Unavailable, e.Kind);
        Assert.Contains(server.Address.GetLeftPart(UriPartial.Authority), e.Message, StringComparison.Ordinal);
        Assert.Contains("within 0.3 s", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_call_the_caller_cancels_is_cancelled_not_unavailable()
    {
        await using var server = await LoopbackGrpc.StartAsync(_ => Answer.Hang);
        using var store = new QdrantVectorStore(server.Address);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.ListCollectionsAsync(cancel.Token).AsTask());
    }

    [Fact]
    public async Task An_upsert_sends_the_built_request_and_is_not_acknowledged_unless_qdrant_reports_it_completed()
    {
        var status = G.UpdateStatus.Acknowledged;
        await using var server = await LoopbackGrpc.StartAsync(call => call.Path switch
        {
            "/qdrant.Collections/Get" => Answer.Message(CollectionInfo()),
            "/qdrant.Points/Upsert" => Answer.Message(new G.PointsOperationResponse { Result = new G.UpdateResult { Status = status } }),
            _ => Answer.Status(StatusCode.Unimplemented, call.Path),
        });
        using var store = new QdrantVectorStore(server.Address);
        VectorPoint[] points = [new("a", new Dictionary<string, float[]> { ["text"] = [1, 2, 3] }, """{"k":"v"}""")];

        var e = await Assert.ThrowsAsync<VectorStoreException>(() => store.UpsertAsync("c", points).AsTask());
        Assert.Equal(VectorStoreErrorKind.Unavailable, e.Kind);
        Assert.Contains("not Completed", e.Message, StringComparison.Ordinal);

        status = G.UpdateStatus.Completed;
        await store.UpsertAsync("c", points);

        var sent = G.UpsertPoints.Parser.ParseFrom(server.Calls.Last().Body);
        Assert.True(sent.Wait);
        Assert.Equal(QdrantPointId.For("a"), sent.Points.Single().Id.Uuid);
        Assert.Equal([1f, 2f, 3f], sent.Points.Single().Vectors.Vectors_.Vectors["text"].Dense.Data);
        Assert.Equal("a", sent.Points.Single().Payload["_pid"].StringValue);
        // The schema was read once and cached.
        Assert.Equal(1, server.Calls.Count(c => c.Path == "/qdrant.Collections/Get"));
    }

    [Fact]
    public async Task A_bad_batch_never_reaches_the_server()
    {
        await using var server = await LoopbackGrpc.StartAsync(call => call.Path == "/qdrant.Collections/Get"
            ? Answer.Message(CollectionInfo())
            : Answer.Status(StatusCode.Internal, "should not have been called"));
        using var store = new QdrantVectorStore(server.Address);

        var e = await Assert.ThrowsAsync<VectorStoreException>(() => store.UpsertAsync("c",
            [new("ok", new Dictionary<string, float[]> { ["text"] = [1, 2, 3] }), new("bad", new Dictionary<string, float[]> { ["text"] = [1, float.NaN, 3] })]).AsTask());

        Assert.Equal(VectorStoreErrorKind.BadRequest, e.Kind);
        Assert.Contains("point 'bad'", e.Message, StringComparison.Ordinal);
        Assert.Equal(["/qdrant.Collections/Get"], server.Calls.Select(c => c.Path));
    }

    [Fact]
    public async Task Qdrants_invalid_argument_is_a_bad_request_with_its_text_and_drops_the_cached_schema()
    {
        await using var server = await LoopbackGrpc.StartAsync(call => call.Path == "/qdrant.Collections/Get"
            ? Answer.Message(CollectionInfo())
            : Answer.Status(StatusCode.InvalidArgument, "Wrong input: Bad request: something the client did not check"));
        using var store = new QdrantVectorStore(server.Address);

        var e = await Assert.ThrowsAsync<VectorStoreException>(() => store.CountAsync("c").AsTask());
        Assert.Equal(VectorStoreErrorKind.BadRequest, e.Kind);
        Assert.Contains("something the client did not check", e.Message, StringComparison.Ordinal);
        Assert.Contains("'c'", e.Message, StringComparison.Ordinal);

        await Assert.ThrowsAsync<VectorStoreException>(() => store.CountAsync("c").AsTask());
        Assert.Equal(2, server.Calls.Count(c => c.Path == "/qdrant.Collections/Get"));
    }

    [Fact]
    public async Task A_recommendation_from_a_missing_example_names_our_id_not_the_uuid()
    {
        var uuid = QdrantPointId.For("shoe-9");
        await using var server = await LoopbackGrpc.StartAsync(call => call.Path == "/qdrant.Collections/Get"
            ? Answer.Message(CollectionInfo())
            : Answer.Status(StatusCode.NotFound, $"Not found: No point with id {uuid} found"));
        using var store = new QdrantVectorStore(server.Address);

        var e = await Assert.ThrowsAsync<VectorStoreException>(() => store.RecommendAsync("c", new RecommendRequest("text", 3) { Positive = ["shoe-9"] }).AsTask());

        Assert.Equal(VectorStoreErrorKind.NotFound, e.Kind);
        Assert.Contains("example point 'shoe-9'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Only_absolute_http_addresses_and_positive_timeouts_are_accepted()
    {
        Assert.Throws<ArgumentException>(() => new QdrantVectorStore(new Uri("/qdrant", UriKind.Relative)));
        Assert.Throws<ArgumentException>(() => new QdrantVectorStore(new Uri("ftp://localhost:6334")));
        Assert.Throws<ArgumentOutOfRangeException>(() => new QdrantVectorStore(new Uri("http://localhost:6334"), timeout: TimeSpan.Zero));
    }

    private static G.GetCollectionInfoResponse CollectionInfo()
    {
        var create = QdrantRequests.CreateCollection("c", new CollectionSchema(new Dictionary<string, VectorParams> { ["text"] = new(3, Distance.Dot) }));
        return new G.GetCollectionInfoResponse
        {
            Result = new G.CollectionInfo { Config = new G.CollectionConfig { Params = new G.CollectionParams { VectorsConfig = create.VectorsConfig } } },
        };
    }

    // ---- the loopback endpoint ----

    private sealed record Call(string Path, string? ApiKey, byte[] Body);

    private sealed record Answer(IMessage? Reply, StatusCode Code, string Detail, bool Hangs)
    {
        public static Answer Message(IMessage reply) => new(reply, StatusCode.OK, "", false);
        public static Answer Status(StatusCode code, string detail) => new(null, code, detail, false);
        public static readonly Answer Hang = new(null, StatusCode.OK, "", true);
    }

    /// <summary>Kestrel on a loopback port with HTTP/2 only, framing each answer as gRPC does (length-prefixed message, status in trailers).</summary>
    private sealed class LoopbackGrpc : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly ConcurrentQueue<Call> _calls = new();

        private LoopbackGrpc(WebApplication app, Func<Call, Answer> answer)
        {
            _app = app;
            _app.Run(async context => await ServeAsync(context, answer));
        }

        public static async Task<LoopbackGrpc> StartAsync(Func<Call, Answer> answer)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
            var server = new LoopbackGrpc(builder.Build(), answer);
            await server._app.StartAsync();
            var address = server._app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
            server.Address = new Uri(address);
            return server;
        }

        public Uri Address { get; private set; } = null!;

        public List<Call> Calls => [.. _calls];

        private async Task ServeAsync(HttpContext context, Func<Call, Answer> answer)
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body, context.RequestAborted);
            var framed = body.ToArray();
            // gRPC framing: a compression flag byte, a big-endian length, the message.
            var message = framed.Length >= 5 ? framed[5..(5 + (int)BinaryPrimitives.ReadUInt32BigEndian(framed.AsSpan(1)))] : [];
            var apiKey = context.Request.Headers.TryGetValue("api-key", out var key) ? key.ToString() : null;
            var call = new Call(context.Request.Path, apiKey, message);
            _calls.Enqueue(call);

            var reply = answer(call);
            if (reply.Hangs)
            {
                try
                {
                    await Task.Delay(Timeout.Infinite, context.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                }
                return;
            }
            context.Response.ContentType = "application/grpc";
            if (reply.Reply is not null)
            {
                var bytes = reply.Reply.ToByteArray();
                var frame = new byte[5 + bytes.Length];
                BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)bytes.Length);
                bytes.CopyTo(frame, 5);
                await context.Response.Body.WriteAsync(frame);
            }
            context.Response.AppendTrailer("grpc-status", ((int)reply.Code).ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (reply.Detail.Length > 0)
                context.Response.AppendTrailer("grpc-message", Uri.EscapeDataString(reply.Detail));
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
