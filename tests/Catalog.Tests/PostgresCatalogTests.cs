using Npgsql;
using Platform.Tests.Servers;

namespace Platform.Catalog.Tests;

/// <summary>The behaviour suite on a real PostgreSQL (one server for the class, a fresh database per test).</summary>
public sealed class PostgresCatalogTests(PostgresServer server) : CatalogBehaviour, IClassFixture<PostgresServer>
{
    private string _connectionString = null!;

    protected override async Task PrepareStoreAsync()
    {
        server.Require();
        _connectionString = await server.CreateDatabaseAsync($"t_{Guid.NewGuid():N}");
    }

    protected override Task<IProductCatalog> CreateAsync() =>
        Task.FromResult<IProductCatalog>(new PostgresProductCatalog(new PostgresCatalogOptions { ConnectionString = _connectionString }, Clock));

    [Fact]
    public async Task Catalogs_migrating_one_database_at_once_apply_each_migration_once()
    {
        var catalogs = Enumerable.Range(0, 6)
            .Select(_ => new PostgresProductCatalog(new PostgresCatalogOptions { ConnectionString = _connectionString }, Clock))
            .ToList();
        try
        {
            using var gate = new ManualResetEventSlim();
            var starts = catalogs.Select(c => Task.Run(async () =>
            {
                gate.Wait();
                await c.InitializeAsync();
            })).ToList();
            gate.Set();
            await Task.WhenAll(starts);
            await catalogs[0].InitializeAsync(); // again: nothing to do

            await using var connection = new NpgsqlConnection(_connectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT version, applied_at FROM schema_migrations ORDER BY version", connection);
            await using var reader = await command.ExecuteReaderAsync();
            var versions = new List<int>();
            while (await reader.ReadAsync())
            {
                versions.Add(reader.GetInt32(0));
                Assert.False(reader.IsDBNull(1));
            }
            Assert.Equal(Enumerable.Range(1, PostgresProductCatalog.SchemaVersion), versions);
        }
        finally
        {
            foreach (var catalog in catalogs)
                await catalog.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_database_that_does_not_exist_is_refused_with_a_message_naming_it()
    {
        await using var catalog = new PostgresProductCatalog(new PostgresCatalogOptions
        {
            ConnectionString = server.ConnectionStringFor("no_such_database"),
            StartupWait = TimeSpan.FromSeconds(10),
        });
        var started = System.Diagnostics.Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<CatalogUnavailableException>(() => catalog.InitializeAsync());
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(5), "a refusal is final: no waiting for it to pass");
        Assert.Contains($"{server.Host}:{server.Port}/no_such_database", error.Message);
        Assert.Contains("no_such_database", error.Message);
    }
}
