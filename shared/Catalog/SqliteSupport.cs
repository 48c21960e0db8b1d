using Microsoft.Data.Sqlite;

namespace Platform.Catalog;

/// <summary>What the SQLite stores (the catalog, the interaction log) share: start-up of the native library, connections.</summary>
internal static class SqliteSupport
{
    static SqliteSupport()
    {
        // SQLitePCLRaw 3 (the only line served here) builds e_sqlite3 without auto-initialisation; Microsoft.Data.Sqlite
        // 10 does not call sqlite3_initialize itself, and opening a database without it crashes the process.
        SQLitePCL.Batteries_V2.Init();
        var rc = SQLitePCL.raw.sqlite3_initialize();
        if (rc != SQLitePCL.raw.SQLITE_OK)
            throw new InvalidOperationException($"SQLite failed to initialise (code {rc})");
    }

    /// <summary>A pooled read-write connection string for the file at <paramref name="path"/> (created if missing).</summary>
    public static string ConnectionString(string path) => new SqliteConnectionStringBuilder
    {
        DataSource = path,
        Mode = SqliteOpenMode.ReadWriteCreate,
        Cache = SqliteCacheMode.Private,
        Pooling = true,
    }.ToString();

    /// <summary>An open connection that waits for a writer rather than failing, and syncs at WAL checkpoints (a process
    /// crash loses nothing committed; only a power cut can lose the last commits).</summary>
    public static SqliteConnection Open(string connectionString)
    {
        var connection = new SqliteConnection(connectionString);
        connection.Open();
        Execute(connection, "PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL;");
        return connection;
    }

    public static SqliteCommand Command(SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        return command;
    }

    public static void Execute(SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        using var command = Command(connection, sql, transaction);
        command.ExecuteNonQuery();
    }
}
