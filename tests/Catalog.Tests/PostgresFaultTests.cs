using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Platform.Contracts;
using Platform.Tests.Servers;

namespace Platform.Catalog.Tests;

/// <summary>The PostgreSQL catalog when its server goes away and comes back: a server of its own, which these tests stop.</summary>
public sealed class PostgresFaultTests(PostgresServer server) : IClassFixture<PostgresServer>
{
    private static readonly ProductInfo Kettle = new("k1", "Blue Kettle");

    [Fact]
    public async Task A_server_that_goes_down_fails_calls_as_unavailable_and_they_work_again_once_it_is_back()
    {
        server.Require();
        var connectionString = await server.CreateDatabaseAsync($"f_{Guid.NewGuid():N}");
        await using var services = Services(new() { ["Catalog:Provider"] = "postgres", ["Catalog:ConnectionString"] = connectionString });
        var catalog = services.GetRequiredService<IProductCatalog>();
        var health = services.GetRequiredService<HealthCheckService>();
        Assert.Equal(IngestOutcome.Accepted, await catalog.RecordIngestAsync(Kettle, [4, 2], "h"));
        Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync()).Entries["catalog"].Status);

        await server.StopAsync();
        try
        {
            var error = await Assert.ThrowsAsync<CatalogUnavailableException>(() => catalog.GetAsync("k1"));
            Assert.Contains($"{server.Host}:{server.Port}", error.Message);
            await Assert.ThrowsAsync<CatalogUnavailableException>(() => catalog.RecordIngestAsync(Kettle with { Id = "k2" }, [1], "h2"));
            await Assert.ThrowsAsync<CatalogUnavailableException>(async () => await catalog.PendingAsync().ToListAsync());
            var down = (await health.CheckHealthAsync()).Entries["catalog"];
            Assert.Equal(HealthStatus.Unhealthy, down.Status);
            Assert.Contains("unavailable", down.Description);
        }
        finally
        {
            await server.StartAsync();
        }

        // What was acknowledged before the crash is there; the write refused while down is not.
        var record = await catalog.GetAsync("k1");
        Assert.Equal(ProductStatus.Pending, record!.Status);
        Assert.Equal([4, 2], await catalog.ImageToEncodeAsync("k1", "h"));
        Assert.Null(await catalog.GetAsync("k2"));
        Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync()).Entries["catalog"].Status);
    }

    [Fact]
    public async Task A_server_that_never_answers_fails_the_start_after_the_bounded_wait_naming_host_and_port()
    {
        var port = FreePort();
        await using var catalog = new PostgresProductCatalog(new PostgresCatalogOptions
        {
            ConnectionString = $"Host=127.0.0.1;Port={port};Database=platform;Username=postgres;Timeout=2",
            StartupWait = TimeSpan.FromSeconds(1.5),
            RetryInterval = TimeSpan.FromMilliseconds(200),
        });
        var started = System.Diagnostics.Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<CatalogUnavailableException>(() => catalog.InitializeAsync());
        Assert.InRange(started.Elapsed, TimeSpan.FromSeconds(1.2), TimeSpan.FromSeconds(10));
        Assert.Contains($"127.0.0.1:{port}", error.Message);
        Assert.Contains("did not answer within 1.5 s", error.Message);

        // An ordinary call does not wait: it says at once that the catalog is unavailable.
        started.Restart();
        await Assert.ThrowsAsync<CatalogUnavailableException>(() => catalog.CountByStatusAsync());
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(1), $"took {started.Elapsed}");
    }

    [Fact]
    public async Task A_host_whose_catalog_server_never_answers_does_not_start()
    {
        var port = FreePort();
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Catalog:Provider"] = "postgres",
            ["Catalog:ConnectionString"] = $"Host=127.0.0.1;Port={port};Username=postgres",
            ["Catalog:StartupWaitSeconds"] = "1",
        });
        builder.Services.AddProductCatalog(builder.Configuration, Path.GetTempPath());
        using var host = builder.Build();
        var error = await Assert.ThrowsAsync<CatalogUnavailableException>(() => host.StartAsync());
        Assert.Contains($"127.0.0.1:{port}", error.Message);
    }

    internal static ServiceProvider Services(Dictionary<string, string?> settings, string? dataDirectory = null)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection().AddLogging();
        services.AddProductCatalog(configuration, dataDirectory ?? Path.GetTempPath());
        return services.BuildServiceProvider();
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
