using System.Net;
using System.Net.Sockets;
using System.Text;
using Platform.VectorStore.Qdrant;

namespace Platform.VectorStore.Tests.Qdrant;

/// <summary>The store's own <see cref="HttpClient"/> over a real socket: headers, path prefix, timeout, refusal.</summary>
public sealed class QdrantTransportTests
{
    private const string Collections = """{"result":{"collections":[{"name":"products"}]},"status":"ok","time":0.0001}""";

    [Fact]
    public async Task The_owned_client_sends_the_api_key_and_keeps_a_path_prefix()
    {
        await using var server = new LoopbackServer(_ => Collections);
        using var store = new QdrantVectorStore(new Uri(server.Address, "qdrant/"), apiKey: "s3cret");

        Assert.Equal(["products"], await store.ListCollectionsAsync());

        var head = Assert.Single(server.Requests);
        Assert.StartsWith("GET /qdrant/collections HTTP/1.1\r\n", head, StringComparison.Ordinal);
        Assert.Contains("\r\napi-key: s3cret\r\n", head, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Without_an_api_key_no_header_is_sent()
    {
        await using var server = new LoopbackServer(_ => Collections);
        using var store = new QdrantVectorStore(server.Address);
        await store.ListCollectionsAsync();
        Assert.DoesNotContain("api-key", Assert.Single(server.Requests), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_server_that_does_not_answer_in_time_is_unavailable()
    {
        await using var server = new LoopbackServer(_ => null);
        using var store = new QdrantVectorStore(server.Address, timeout: TimeSpan.FromMilliseconds(300));
        var e = await Assert.ThrowsAsync<VectorStoreException>(() => store.ListCollectionsAsync().AsTask());
        Assert.Equal(VectorStoreErrorKind.Unavailable, e.Kind);
        Assert.Contains($"{server.Address}collections", e.Message, StringComparison.Ordinal);
        Assert.Contains("within 0.3 s", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_refused_connection_is_unavailable_and_names_the_url()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        using var store = new QdrantVectorStore(new Uri($"http://127.0.0.1:{port}"));

        var e = await Assert.ThrowsAsync<VectorStoreException>(() => store.GetCollectionAsync("products").AsTask());

        Assert.Equal(VectorStoreErrorKind.Unavailable, e.Kind);
        Assert.Contains($"http://127.0.0.1:{port}/collections/products", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_caller_owned_client_needs_a_base_address()
    {
        using var http = new HttpClient();
        Assert.Throws<ArgumentException>(() => new QdrantVectorStore(http));
    }

    /// <summary>One-request-per-connection HTTP/1.1 on loopback; a null answer holds the connection without replying.</summary>
    private sealed class LoopbackServer : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();
        private readonly Func<string, string?> _answer;
        private readonly Task _loop;

        public LoopbackServer(Func<string, string?> answer)
        {
            _answer = answer;
            _listener.Start();
            Address = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");
            _loop = Task.Run(AcceptAsync);
        }

        public Uri Address { get; }

        /// <summary>Each request's line and headers, as received.</summary>
        public List<string> Requests { get; } = [];

        private async Task AcceptAsync()
        {
            var connections = new List<Task>();
            try
            {
                while (true)
                {
                    var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                    connections.Add(ServeAsync(client));
                }
            }
            catch (OperationCanceledException)
            {
            }
            await Task.WhenAll(connections);
        }

        private async Task ServeAsync(TcpClient client)
        {
            using (client)
            {
                var stream = client.GetStream();
                var buffer = new byte[64 * 1024];
                var received = 0;
                int headEnd;
                while ((headEnd = IndexOfHeadEnd(buffer, received)) < 0)
                {
                    var n = await stream.ReadAsync(buffer.AsMemory(received), _stop.Token);
                    if (n == 0)
                        return;
                    received += n;
                }
                var head = Encoding.ASCII.GetString(buffer, 0, headEnd + 4);
                lock (Requests)
                    Requests.Add(head);
                var answer = _answer(head);
                if (answer is null)
                {
                    try
                    {
                        await Task.Delay(Timeout.Infinite, _stop.Token);
                    }
                    catch (OperationCanceledException)
                    {
                    }
                    return;
                }
                var body = Encoding.UTF8.GetBytes(answer);
                var response = Encoding.ASCII.GetBytes(
                    $"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n");
                await stream.WriteAsync(response);
                await stream.WriteAsync(body);
            }
        }

        private static int IndexOfHeadEnd(byte[] buffer, int count) => buffer.AsSpan(0, count).IndexOf("\r\n\r\n"u8);

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Stop();
            await _loop;
            _stop.Dispose();
        }
    }
}
