using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Configurations;
using DotNet.Testcontainers.Containers;
using Platform.VectorStore.Qdrant;
using Qdrant.Client.Grpc;

namespace Platform.VectorStore.Tests.Behaviour;

/// <summary>
/// The behavioural suite against a real Qdrant server over gRPC: the one at <c>QDRANT_URL</c> (its gRPC endpoint, for
/// example <c>http://localhost:6334</c>; <c>QDRANT_API_KEY</c> when it needs one), else a <c>qdrant/qdrant</c> container
/// where a Docker engine answers. Without either every test skips, saying so. Each test's collections are deleted
/// after it.
/// </summary>
public sealed class QdrantStoreBehaviour(QdrantServer server) : VectorStoreBehaviour, IClassFixture<QdrantServer>
{
    protected override bool ScrollsInOrdinalIdOrder => false;

    protected override IVectorStore OpenStore()
    {
        Assert.SkipWhen(server.SkipReason is not null, server.SkipReason ?? "");
        return new QdrantVectorStore(server.Url!, server.ApiKey, TimeSpan.FromMinutes(2));
    }
}

/// <summary>
/// The Qdrant server the behavioural suite runs against, found or started once for the test run: <c>QDRANT_URL</c>
/// when set, else a container of the server version the client was built for, else none (with the reason).
/// </summary>
public sealed class QdrantServer : IAsyncLifetime
{
    public const string NoServer = "no Qdrant server: QDRANT_URL is not set and no Docker engine answers";

    private const int GrpcPort = 6334;
    private const int RestPort = 6333;

    private IContainer? _container;

    /// <summary>The server's gRPC endpoint; null when <see cref="SkipReason"/> says why there is none.</summary>
    public Uri? Url { get; private set; }

    public string? ApiKey { get; private set; }

    public string? SkipReason { get; private set; }

    public async ValueTask InitializeAsync()
    {
        var url = Environment.GetEnvironmentVariable("QDRANT_URL");
        if (!string.IsNullOrWhiteSpace(url))
        {
            Url = new Uri(url.Trim());
            var apiKey = Environment.GetEnvironmentVariable("QDRANT_API_KEY");
            ApiKey = string.IsNullOrEmpty(apiKey) ? null : apiKey;
            return;
        }
        if (TestcontainersSettings.OS.DockerEndpointAuthConfig is null)
        {
            SkipReason = NoServer;
            return;
        }

        // The server version Qdrant.Client was generated against, so the protocol on both sides is the same.
        _container = new ContainerBuilder($"qdrant/qdrant:{QdrantGrpcClient.QdrantVersion}")
            .WithPortBinding(GrpcPort, assignRandomHostPort: true)
            .WithPortBinding(RestPort, assignRandomHostPort: true)
            .WithWaitStrategy(Wait.ForUnixContainer().UntilHttpRequestIsSucceeded(r => r.ForPort(RestPort).ForPath("/readyz")))
            .Build();
        using var startup = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await _container.StartAsync(startup.Token);
        Url = new Uri($"http://{_container.Hostname}:{_container.GetMappedPublicPort(GrpcPort)}");
    }

    public async ValueTask DisposeAsync()
    {
        if (_container is not null)
            await _container.DisposeAsync();
    }
}
