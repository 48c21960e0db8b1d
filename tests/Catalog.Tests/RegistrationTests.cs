using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Configuration;

namespace Platform.Catalog.Tests;

/// <summary>Which catalog <c>AddProductCatalog</c> makes from configuration, and what it says about bad settings.</summary>
public sealed class RegistrationTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("catalog-registration-").FullName;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Without_a_provider_the_catalog_is_sqlite_in_the_data_directory_and_reports_healthy()
    {
        await using var services = PostgresFaultTests.Services([], _dir);
        var catalog = services.GetRequiredService<IProductCatalog>();
        Assert.IsType<SqliteProductCatalog>(catalog);
        await catalog.RecordIngestAsync(new Contracts.ProductInfo("a", "A"), [1], "h");
        Assert.True(File.Exists(Path.Combine(_dir, "catalog.db")));
        var report = await services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        Assert.Equal(HealthStatus.Healthy, report.Entries[CatalogRegistration.HealthCheckName].Status);
        Assert.Contains(CatalogRegistration.ReadyTag, report.Entries[CatalogRegistration.HealthCheckName].Tags);
    }

    [Fact]
    public void The_provider_name_is_case_insensitive_and_postgres_makes_a_postgres_catalog()
    {
        using var services = PostgresFaultTests.Services(new()
        {
            ["Catalog:Provider"] = " PostgreS ",
            ["Catalog:ConnectionString"] = "Host=127.0.0.1;Port=1;Username=postgres",
        });
        Assert.IsType<PostgresProductCatalog>(services.GetRequiredService<IProductCatalog>());
    }

    [Fact]
    public void Registering_twice_keeps_one_catalog_and_one_health_check()
    {
        var configuration = new ConfigurationBuilder().Build();
        var services = new ServiceCollection().AddLogging();
        services.AddProductCatalog(configuration, _dir);
        services.AddProductCatalog(configuration, Path.Combine(_dir, "other"));
        using var provider = services.BuildServiceProvider();
        Assert.Single(provider.GetServices<IProductCatalog>());
        // A second "catalog" check would make the health check service throw on duplicate names.
        Assert.NotNull(provider.GetRequiredService<HealthCheckService>());
        Assert.False(Directory.Exists(Path.Combine(_dir, "other")));
    }

    [Fact]
    public void An_unknown_provider_is_refused_listing_the_accepted_values()
    {
        var error = Assert.Throws<InvalidOperationException>(() => PostgresFaultTests.Services(new() { ["Catalog:Provider"] = "mysql" }));
        Assert.Contains("Catalog:Provider", error.Message);
        Assert.Contains("'mysql'", error.Message);
        Assert.Contains("sqlite, postgres", error.Message);
    }

    [Fact]
    public void Postgres_without_a_connection_string_is_refused_naming_the_key()
    {
        var error = Assert.Throws<InvalidOperationException>(() => PostgresFaultTests.Services(new() { ["Catalog:Provider"] = "postgres" }));
        Assert.Contains("Catalog:ConnectionString", error.Message);
    }

    [Fact]
    public void A_mangled_connection_string_is_refused_naming_the_key_but_not_the_password()
    {
        var error = Assert.Throws<InvalidOperationException>(() => PostgresFaultTests.Services(new()
        {
            ["Catalog:Provider"] = "postgres",
            ["Catalog:ConnectionString"] = "Hots=db;Password=s3cret",
        }));
        Assert.Contains("Catalog:ConnectionString", error.Message);
        Assert.DoesNotContain("s3cret", error.Message);
    }

    [Fact]
    public void A_startup_wait_that_is_not_a_number_is_refused()
    {
        var error = Assert.Throws<InvalidOperationException>(() => PostgresFaultTests.Services(new()
        {
            ["Catalog:Provider"] = "postgres",
            ["Catalog:ConnectionString"] = "Host=db",
            ["Catalog:StartupWaitSeconds"] = "soon",
        }));
        Assert.Contains("Catalog:StartupWaitSeconds", error.Message);
    }

    [Fact]
    public void The_content_hash_ignores_attribute_order_but_not_content()
    {
        var mug = new Contracts.ProductInfo("m1", "Red Mug", null, "kitchen", 9.5m, new Dictionary<string, string> { ["color"] = "red", ["size"] = "m" });
        var reordered = mug with { Attributes = new Dictionary<string, string> { ["size"] = "m", ["color"] = "red" } };
        Assert.Equal(ContentHash.Compute(mug, [1, 2, 3]), ContentHash.Compute(reordered, [1, 2, 3]));
        Assert.NotEqual(ContentHash.Compute(mug, [1, 2, 3]), ContentHash.Compute(mug, [1, 2, 4]));
        Assert.NotEqual(ContentHash.Compute(mug, [1]), ContentHash.Compute(mug with { Title = "Blue Mug" }, [1]));
        Assert.Matches("^[0-9a-f]{64}$", ContentHash.Compute(mug, []));
    }
}
