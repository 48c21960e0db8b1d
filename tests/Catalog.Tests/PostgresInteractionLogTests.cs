using Platform.Catalog.Behaviour;
using Platform.Tests.Servers;

namespace Platform.Catalog.Tests;

/// <summary>The interaction log suite on a real PostgreSQL (one server for the class, a fresh database per test).</summary>
public sealed class PostgresInteractionLogTests(PostgresServer server) : InteractionLogBehaviour, IClassFixture<PostgresServer>
{
    private readonly List<PostgresProductCatalog> _databases = [];
    private string _connectionString = null!;

    protected override async Task<IInteractionLog> PrepareAsync()
    {
        server.Require();
        _connectionString = await server.CreateDatabaseAsync($"t_{Guid.NewGuid():N}");
        return Reopen();
    }

    protected override IInteractionLog Reopen()
    {
        var database = new PostgresProductCatalog(new PostgresCatalogOptions { ConnectionString = _connectionString });
        _databases.Add(database);
        return new PostgresInteractionLog(database);
    }

    public override async ValueTask DisposeAsync()
    {
        foreach (var database in _databases)
            await database.DisposeAsync();
        await base.DisposeAsync();
    }
}
