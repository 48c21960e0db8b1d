using Platform.Catalog.Behaviour;

namespace Platform.Catalog.Tests;

/// <summary>The interaction log suite on SQLite, a fresh database file per test.</summary>
public sealed class SqliteInteractionLogTests : InteractionLogBehaviour
{
    private readonly string _dir = Directory.CreateTempSubdirectory("interactions-sqlite-").FullName;

    private string Path => System.IO.Path.Combine(_dir, "interactions.db");

    protected override Task<IInteractionLog> PrepareAsync() => Task.FromResult<IInteractionLog>(new SqliteInteractionLog(Path));

    protected override IInteractionLog Reopen() => new SqliteInteractionLog(Path);

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }
}
