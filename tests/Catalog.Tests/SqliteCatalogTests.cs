namespace Platform.Catalog.Tests;

/// <summary>The behaviour suite on SQLite, a fresh database file per test.</summary>
public sealed class SqliteCatalogTests : CatalogBehaviour
{
    private readonly string _dir = Directory.CreateTempSubdirectory("catalog-sqlite-").FullName;

    protected override Task PrepareStoreAsync() => Task.CompletedTask;

    protected override Task<IProductCatalog> CreateAsync() =>
        Task.FromResult<IProductCatalog>(new SqliteProductCatalog(Path.Combine(_dir, "catalog.db"), Clock));

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }
}
