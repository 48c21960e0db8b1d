using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Platform.Catalog;
using Platform.Search.Cluster;
using Platform.ServiceDefaults.Cluster;
using Platform.Tests.Servers;
using Platform.VectorStore;

namespace Platform.Distributed.Tests;

/// <summary>
/// The platform distributed over processes on this machine: private Redis (Orleans membership), RabbitMQ (the bus)
/// and PostgreSQL (the catalog) servers; a gateway, two encoder silos, a retrieval silo (which holds the embedded
/// vector store) and the indexer (which writes into it through the cluster), each its own <c>platform serve --role</c>
/// process. The test process joins as an Orleans client to read the vector store, and reads the catalog directly.
/// </summary>
public sealed class DistributedCluster : IAsyncLifetime
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(3);
    private IHost? _client;

    public RedisServer Redis { get; } = new();
    public RabbitMqServer RabbitMq { get; } = new();
    public PostgresServer Postgres { get; } = new();

    /// <summary>Where every process exports its traces.</summary>
    public OtlpReceiver Telemetry { get; } = new();

    public RoleProcess Gateway { get; private set; } = null!;
    public RoleProcess Encoder1 { get; private set; } = null!;
    public RoleProcess Encoder2 { get; private set; } = null!;
    public RoleProcess Retrieval { get; private set; } = null!;
    public RoleProcess Indexer { get; private set; } = null!;

    /// <summary>Why the cluster cannot run here (a server package missing), or null.</summary>
    public string? SkipReason { get; private set; }

    /// <summary>The retrieval silo's vector store, read through the cluster.</summary>
    public IVectorStore Store => _client!.Services.GetRequiredService<IVectorStore>();

    public IProductCatalog Catalog => _client!.Services.GetRequiredService<IProductCatalog>();

    public IEnumerable<RoleProcess> Processes => [Gateway, Encoder1, Encoder2, Retrieval, Indexer];

    public void Require() => Assert.SkipWhen(SkipReason is not null, SkipReason ?? "");

    public async ValueTask InitializeAsync()
    {
        await Postgres.InitializeAsync();
        SkipReason = RedisServer.Missing ?? RabbitMqServer.Missing ?? Postgres.SkipReason;
        if (SkipReason is not null)
            return;
        await Task.WhenAll(Redis.StartAsync(), RabbitMq.StartAsync(), Telemetry.StartAsync());

        var cluster = new Dictionary<string, string>
        {
            ["Orleans__Membership"] = "redis",
            ["Orleans__Redis"] = Redis.ConnectionString,
            ["Orleans__ClusterId"] = $"fault-{Guid.NewGuid():N}",
            ["Orleans__AdvertisedIP"] = "127.0.0.1",
            ["Bus__Transport"] = "rabbitmq",
            ["Bus__RabbitMq__Uri"] = RabbitMq.Uri.ToString(),
            ["Bus__PublishTimeoutSeconds"] = "5",
            ["Catalog__Provider"] = "postgres",
            ["Catalog__ConnectionString"] = Postgres.ConnectionString,
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = Telemetry.Endpoint.ToString(),
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
        };
        Dictionary<string, string> With(params (string Key, string Value)[] more)
        {
            var env = new Dictionary<string, string>(cluster);
            foreach (var (key, value) in more)
                env[key] = value;
            return env;
        }
        (string, string)[] SiloPorts() =>
            [("Orleans__SiloPort", LocalServer.FreePort().ToString()), ("Orleans__GatewayPort", LocalServer.FreePort().ToString())];

        Retrieval = new RoleProcess("retrieval", "retrieval", With([.. SiloPorts(), ("VectorStore__Provider", "embedded")]));
        Encoder1 = new RoleProcess("encoder-1", "encoder", With(SiloPorts()));
        Encoder2 = new RoleProcess("encoder-2", "encoder", With(SiloPorts()));
        Indexer = new RoleProcess("indexer", "indexer", With(("VectorStore__Provider", "cluster")));
        Gateway = new RoleProcess("gateway", "gateway", With());
        foreach (var process in Processes)
            process.Start();
        await Task.WhenAll(Processes.Select(p => p.WaitReadyAsync(StartTimeout)));

        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(cluster.Where(kv => !kv.Key.StartsWith("OTEL_", StringComparison.Ordinal)).ToDictionary(kv => kv.Key.Replace("__", ":"), kv => (string?)kv.Value));
        builder.AddPlatformClient(SiloSettings.From(builder.Configuration));
        builder.Services.AddClusterVectorStore();
        builder.Services.AddProductCatalog(builder.Configuration, Path.GetTempPath());
        _client = builder.Build();
        await _client.StartAsync();
    }

    /// <summary>Every process's output tail, for a failure message.</summary>
    public string Logs() => string.Join("\n", Processes.Where(p => p is not null).Select(p => $"===== {p.Name}\n{Tail(p.Output, 6000)}"));

    private static string Tail(string text, int length) => text.Length <= length ? text : text[^length..];

    public async ValueTask DisposeAsync()
    {
        if (_client is not null)
        {
            await _client.StopAsync(TimeSpan.FromSeconds(5));
            _client.Dispose();
        }
        // PLATFORM_TEST_LOGS=DIR keeps every process's output tail, to read after a run.
        if (Environment.GetEnvironmentVariable("PLATFORM_TEST_LOGS") is { Length: > 0 } logs)
        {
            Directory.CreateDirectory(logs);
            foreach (var process in Processes.Where(p => p is not null))
                await File.WriteAllTextAsync(Path.Combine(logs, $"{process.Name}.log"), process.Output);
        }
        foreach (var process in Processes.Where(p => p is not null))
            await process.DisposeAsync();
        await RabbitMq.DisposeAsync();
        await Redis.DisposeAsync();
        await Postgres.DisposeAsync();
        await Telemetry.DisposeAsync();
    }
}
