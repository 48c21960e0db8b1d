using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Platform.Contracts;

namespace Platform.Catalog;

/// <summary>
/// The catalog in one SQLite file (WAL), for a platform in one process or on one machine. Microsoft.Data.Sqlite's
/// async methods complete synchronously; the file is local, so that costs a request no more than it did before.
/// </summary>
public sealed class SqliteProductCatalog : IProductCatalog
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly string _connectionString;
    private readonly string _path;
    private readonly TimeProvider _time;

    /// <param name="databasePath">The database file, created with its folder if missing.</param>
    /// <param name="time">The clock for status timestamps (tests pass their own).</param>
    public SqliteProductCatalog(string databasePath, TimeProvider? time = null)
    {
        _path = Path.GetFullPath(databasePath);
        _time = time ?? TimeProvider.System;
        Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
        _connectionString = SqliteSupport.ConnectionString(_path);
        using var connection = Open();
        Execute(connection, """
            PRAGMA journal_mode = WAL;
            CREATE TABLE IF NOT EXISTS products (
                id TEXT PRIMARY KEY,
                info TEXT NOT NULL,
                content_hash TEXT NOT NULL,
                status INTEGER NOT NULL,
                reason TEXT NULL,
                image BLOB NOT NULL,
                updated_at INTEGER NOT NULL
            );
            CREATE INDEX IF NOT EXISTS products_status ON products(status);
            """);
    }

    public Task<IngestOutcome> RecordIngestAsync(ProductInfo product, byte[] image, string contentHash, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using var connection = Open();
        // One statement, so the check and the write are one atomic step: the update applies only to changed content
        // or to a failed product, and RETURNING yields a row only when something was written.
        using var upsert = Command(connection, """
            INSERT INTO products (id, info, content_hash, status, reason, image, updated_at)
            VALUES ($id, $info, $hash, $pending, NULL, $image, $now)
            ON CONFLICT(id) DO UPDATE SET info = excluded.info, content_hash = excluded.content_hash,
                status = excluded.status, reason = NULL, image = excluded.image, updated_at = excluded.updated_at
            WHERE products.content_hash <> excluded.content_hash OR products.status = $failed
            RETURNING 1
            """);
        upsert.Parameters.AddWithValue("$id", product.Id);
        upsert.Parameters.AddWithValue("$info", JsonSerializer.Serialize(product, Json));
        upsert.Parameters.AddWithValue("$hash", contentHash);
        upsert.Parameters.AddWithValue("$pending", (int)ProductStatus.Pending);
        upsert.Parameters.AddWithValue("$failed", (int)ProductStatus.Failed);
        upsert.Parameters.AddWithValue("$image", image);
        upsert.Parameters.AddWithValue("$now", Now());
        return Task.FromResult(upsert.ExecuteScalar() is null ? IngestOutcome.Unchanged : IngestOutcome.Accepted);
    }

    public Task<bool> MarkIndexedAsync(string id, string contentHash, CancellationToken cancellationToken = default) =>
        SetStatus(id, contentHash, ProductStatus.Indexed, null, cancellationToken);

    public Task<bool> MarkFailedAsync(string id, string contentHash, string reason, CancellationToken cancellationToken = default) =>
        SetStatus(id, contentHash, ProductStatus.Failed, reason, cancellationToken);

    public Task<bool> NeedsEncodingAsync(string id, string contentHash, CancellationToken cancellationToken = default) =>
        Exists("SELECT 1 FROM products WHERE id = $id AND content_hash = $hash AND status <> $indexed", id, contentHash, cancellationToken);

    public Task<bool> IsCurrentAsync(string id, string contentHash, CancellationToken cancellationToken = default) =>
        Exists("SELECT 1 FROM products WHERE id = $id AND content_hash = $hash", id, contentHash, cancellationToken);

    public Task<ProductRecord?> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using var connection = Open();
        using var command = Command(connection, "SELECT info, content_hash, status, reason, updated_at FROM products WHERE id = $id");
        command.Parameters.AddWithValue("$id", id);
        using var reader = command.ExecuteReader();
        return Task.FromResult(reader.Read() ? ReadRecord(reader) : null);
    }

    public Task<IReadOnlyList<string>> MissingAsync(IEnumerable<string> ids, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using var connection = Open();
        using var command = Command(connection, "SELECT 1 FROM products WHERE id = $id");
        var id = command.Parameters.Add("$id", SqliteType.Text);
        var missing = new List<string>();
        foreach (var each in ids.Distinct(StringComparer.Ordinal))
        {
            id.Value = each;
            if (command.ExecuteScalar() is null)
                missing.Add(each);
        }
        return Task.FromResult<IReadOnlyList<string>>(missing);
    }

    public Task<byte[]?> ImageToEncodeAsync(string id, string contentHash, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using var connection = Open();
        using var command = Command(connection, "SELECT image FROM products WHERE id = $id AND content_hash = $hash AND status <> $indexed");
        command.Parameters.AddWithValue("$id", id);
        command.Parameters.AddWithValue("$hash", contentHash);
        command.Parameters.AddWithValue("$indexed", (int)ProductStatus.Indexed);
        return Task.FromResult(command.ExecuteScalar() as byte[]);
    }

    public IAsyncEnumerable<IngestProduct> PendingAsync(CancellationToken cancellationToken = default) =>
        PendingUntil(long.MaxValue, cancellationToken);

    public IAsyncEnumerable<IngestProduct> PendingOlderThanAsync(TimeSpan age, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(age, TimeSpan.Zero);
        return PendingUntil(Now() - (long)age.TotalMilliseconds, cancellationToken);
    }

    public Task<IReadOnlyList<string>> IndexedIdsAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using var connection = Open();
        using var command = Command(connection, "SELECT id FROM products WHERE status = $status");
        command.Parameters.AddWithValue("$status", (int)ProductStatus.Indexed);
        using var reader = command.ExecuteReader();
        var ids = new List<string>();
        while (reader.Read())
            ids.Add(reader.GetString(0));
        return Task.FromResult<IReadOnlyList<string>>(ids);
    }

    public Task<int> MarkPendingAsync(IEnumerable<string> ids, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using var connection = Open();
        using var transaction = connection.BeginTransaction();
        // The timestamp moves too: pending since now, so a periodic re-sender does not take them for stragglers at once.
        using var command = Command(connection, "UPDATE products SET status = $pending, reason = NULL, updated_at = $now WHERE id = $id AND status = $indexed", transaction);
        var id = command.Parameters.Add("$id", SqliteType.Text);
        command.Parameters.AddWithValue("$pending", (int)ProductStatus.Pending);
        command.Parameters.AddWithValue("$indexed", (int)ProductStatus.Indexed);
        command.Parameters.AddWithValue("$now", Now());
        var changed = 0;
        foreach (var each in ids)
        {
            id.Value = each;
            changed += command.ExecuteNonQuery();
        }
        transaction.Commit();
        return Task.FromResult(changed);
    }

    public Task<IReadOnlyDictionary<ProductStatus, int>> CountByStatusAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using var connection = Open();
        using var command = Command(connection, "SELECT status, COUNT(*) FROM products GROUP BY status");
        using var reader = command.ExecuteReader();
        var counts = Enum.GetValues<ProductStatus>().ToDictionary(s => s, _ => 0);
        while (reader.Read())
            counts[(ProductStatus)reader.GetInt32(0)] = reader.GetInt32(1);
        return Task.FromResult<IReadOnlyDictionary<ProductStatus, int>>(counts);
    }

    public Task<IReadOnlyDictionary<string, ProductStatus>> StatusesAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using var connection = Open();
        using var command = Command(connection, "SELECT id, status FROM products");
        using var reader = command.ExecuteReader();
        var statuses = new Dictionary<string, ProductStatus>(StringComparer.Ordinal);
        while (reader.Read())
            statuses[reader.GetString(0)] = (ProductStatus)reader.GetInt32(1);
        return Task.FromResult<IReadOnlyDictionary<string, ProductStatus>>(statuses);
    }

    public Task PingAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            using var connection = Open();
            using var command = Command(connection, "SELECT COUNT(*) FROM products WHERE 0");
            command.ExecuteScalar();
        }
        catch (SqliteException e)
        {
            throw new CatalogUnavailableException($"the catalog database {_path} cannot be read: {e.Message}", e);
        }
        return Task.CompletedTask;
    }

    private async IAsyncEnumerable<IngestProduct> PendingUntil(long updatedAtMost, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.CompletedTask.ConfigureAwait(false); // SQLite reads are synchronous; this keeps the method an async iterator
        using var connection = Open();
        using var command = Command(connection, "SELECT info, content_hash FROM products WHERE status = $status AND updated_at <= $until ORDER BY updated_at");
        command.Parameters.AddWithValue("$status", (int)ProductStatus.Pending);
        command.Parameters.AddWithValue("$until", updatedAtMost);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return new IngestProduct(Deserialize(reader.GetString(0)), reader.GetString(1));
        }
    }

    private Task<bool> Exists(string sql, string id, string contentHash, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using var connection = Open();
        using var command = Command(connection, sql);
        command.Parameters.AddWithValue("$id", id);
        command.Parameters.AddWithValue("$hash", contentHash);
        command.Parameters.AddWithValue("$indexed", (int)ProductStatus.Indexed);
        return Task.FromResult(command.ExecuteScalar() is not null);
    }

    private Task<bool> SetStatus(string id, string contentHash, ProductStatus status, string? reason, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using var connection = Open();
        using var command = Command(connection, """
            UPDATE products SET status = $status, reason = $reason, updated_at = $now
            WHERE id = $id AND content_hash = $hash
            """);
        command.Parameters.AddWithValue("$id", id);
        command.Parameters.AddWithValue("$hash", contentHash);
        command.Parameters.AddWithValue("$status", (int)status);
        command.Parameters.AddWithValue("$reason", (object?)reason ?? DBNull.Value);
        command.Parameters.AddWithValue("$now", Now());
        return Task.FromResult(command.ExecuteNonQuery() == 1);
    }

    private long Now() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private static ProductRecord ReadRecord(SqliteDataReader reader) => new(
        Deserialize(reader.GetString(0)),
        reader.GetString(1),
        (ProductStatus)reader.GetInt32(2),
        reader.IsDBNull(3) ? null : reader.GetString(3),
        DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4)));

    private static ProductInfo Deserialize(string json) =>
        JsonSerializer.Deserialize<ProductInfo>(json, Json) ?? throw new InvalidDataException("A catalog row holds no product.");

    private SqliteConnection Open() => SqliteSupport.Open(_connectionString);

    private static SqliteCommand Command(SqliteConnection connection, string sql, SqliteTransaction? transaction = null) =>
        SqliteSupport.Command(connection, sql, transaction);

    private static void Execute(SqliteConnection connection, string sql) => SqliteSupport.Execute(connection, sql);
}
