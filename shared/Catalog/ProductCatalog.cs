using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Platform.Contracts;

namespace Platform.Catalog;

/// <summary>A product as the catalog holds it: what was ingested, and how far it got.</summary>
public sealed record ProductRecord(
    ProductInfo Product,
    string ContentHash,
    ProductStatus Status,
    string? FailureReason,
    DateTimeOffset UpdatedAt);

/// <summary>The outcome of recording an ingest.</summary>
public enum IngestOutcome
{
    /// <summary>New or changed content: it needs encoding.</summary>
    Accepted,

    /// <summary>The same content is already indexed or on its way: nothing to do.</summary>
    Unchanged,
}

/// <summary>
/// The durable record of every ingested product (SQLite, WAL). A product is written here before the ingest is
/// acknowledged, with its image, so a crash between acknowledgement and indexing loses nothing: pending products
/// are re-sent on start-up.
/// </summary>
public sealed class ProductCatalog
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly string _connectionString;

    static ProductCatalog()
    {
        // SQLitePCLRaw 3 (the only line served here) builds e_sqlite3 without auto-initialisation; Microsoft.Data.Sqlite
        // 10 does not call sqlite3_initialize itself, and opening a database without it crashes the process.
        SQLitePCL.Batteries_V2.Init();
        var rc = SQLitePCL.raw.sqlite3_initialize();
        if (rc != SQLitePCL.raw.SQLITE_OK)
            throw new InvalidOperationException($"SQLite failed to initialise (code {rc})");
    }

    public ProductCatalog(string databasePath)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(databasePath))!);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = databasePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
        }.ToString();
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

    /// <summary>The content hash: SHA-256 over the product's fields and its image bytes.</summary>
    public static string ComputeContentHash(ProductInfo product, ReadOnlySpan<byte> image)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var canonical = product with
        {
            Attributes = product.Attributes is null ? null : new SortedDictionary<string, string>(product.Attributes.ToDictionary(), StringComparer.Ordinal),
        };
        hash.AppendData(JsonSerializer.SerializeToUtf8Bytes(canonical, Json));
        hash.AppendData(image);
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>Records an ingest as pending unless the same content is already pending or indexed.</summary>
    public IngestOutcome RecordIngest(ProductInfo product, byte[] image, string contentHash)
    {
        using var connection = Open();
        using var transaction = connection.BeginTransaction();
        using (var existing = Command(connection, "SELECT content_hash, status FROM products WHERE id = $id", transaction))
        {
            existing.Parameters.AddWithValue("$id", product.Id);
            using var reader = existing.ExecuteReader();
            if (reader.Read() && reader.GetString(0) == contentHash && (ProductStatus)reader.GetInt32(1) != ProductStatus.Failed)
                return IngestOutcome.Unchanged;
        }

        using var upsert = Command(connection, """
            INSERT INTO products (id, info, content_hash, status, reason, image, updated_at)
            VALUES ($id, $info, $hash, $status, NULL, $image, $now)
            ON CONFLICT(id) DO UPDATE SET info = excluded.info, content_hash = excluded.content_hash,
                status = excluded.status, reason = NULL, image = excluded.image, updated_at = excluded.updated_at
            """, transaction);
        upsert.Parameters.AddWithValue("$id", product.Id);
        upsert.Parameters.AddWithValue("$info", JsonSerializer.Serialize(product, Json));
        upsert.Parameters.AddWithValue("$hash", contentHash);
        upsert.Parameters.AddWithValue("$status", (int)ProductStatus.Pending);
        upsert.Parameters.AddWithValue("$image", image);
        upsert.Parameters.AddWithValue("$now", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        upsert.ExecuteNonQuery();
        transaction.Commit();
        return IngestOutcome.Accepted;
    }

    /// <summary>Marks the product indexed, only if <paramref name="contentHash"/> is still its current content.</summary>
    public bool MarkIndexed(string id, string contentHash) => SetStatus(id, contentHash, ProductStatus.Indexed, null);

    /// <summary>Marks the product failed with a reason, only if <paramref name="contentHash"/> is still its current content.</summary>
    public bool MarkFailed(string id, string contentHash, string reason) => SetStatus(id, contentHash, ProductStatus.Failed, reason);

    /// <summary>True when <paramref name="contentHash"/> is the product's current content and it is not indexed yet.</summary>
    public bool NeedsEncoding(string id, string contentHash) =>
        Get(id) is { } record && record.ContentHash == contentHash && record.Status != ProductStatus.Indexed;

    /// <summary>True when <paramref name="contentHash"/> is the product's current content.</summary>
    public bool IsCurrent(string id, string contentHash) => Get(id)?.ContentHash == contentHash;

    public ProductRecord? Get(string id)
    {
        using var connection = Open();
        using var command = Command(connection, "SELECT info, content_hash, status, reason, updated_at FROM products WHERE id = $id");
        command.Parameters.AddWithValue("$id", id);
        using var reader = command.ExecuteReader();
        return reader.Read() ? ReadRecord(reader) : null;
    }

    /// <summary>
    /// The image of content <paramref name="contentHash"/> when it still needs encoding (as <see cref="NeedsEncoding"/>
    /// says), in the same look-up; null when the product is gone, its content was replaced, or it is indexed already.
    /// </summary>
    public byte[]? ImageToEncode(string id, string contentHash)
    {
        using var connection = Open();
        using var command = Command(connection, "SELECT image FROM products WHERE id = $id AND content_hash = $hash AND status != $indexed");
        command.Parameters.AddWithValue("$id", id);
        command.Parameters.AddWithValue("$hash", contentHash);
        command.Parameters.AddWithValue("$indexed", (int)ProductStatus.Indexed);
        return command.ExecuteScalar() as byte[];
    }

    /// <summary>Products accepted but not yet indexed or failed: the work a restart must redo.</summary>
    public IEnumerable<IngestProduct> Pending()
    {
        using var connection = Open();
        using var command = Command(connection, "SELECT info, content_hash FROM products WHERE status = $status ORDER BY updated_at");
        command.Parameters.AddWithValue("$status", (int)ProductStatus.Pending);
        using var reader = command.ExecuteReader();
        while (reader.Read())
            yield return new IngestProduct(Deserialize(reader.GetString(0)), reader.GetString(1));
    }

    /// <summary>Ids of the products marked indexed.</summary>
    public IReadOnlyList<string> IndexedIds()
    {
        using var connection = Open();
        using var command = Command(connection, "SELECT id FROM products WHERE status = $status");
        command.Parameters.AddWithValue("$status", (int)ProductStatus.Indexed);
        using var reader = command.ExecuteReader();
        var ids = new List<string>();
        while (reader.Read())
            ids.Add(reader.GetString(0));
        return ids;
    }

    /// <summary>Marks indexed products pending again, so <see cref="Pending"/> hands them out to be encoded once more (their vectors were lost). Returns how many changed.</summary>
    public int MarkPending(IEnumerable<string> ids)
    {
        using var connection = Open();
        using var transaction = connection.BeginTransaction();
        using var command = Command(connection, "UPDATE products SET status = $pending, reason = NULL WHERE id = $id AND status = $indexed", transaction);
        var id = command.Parameters.Add("$id", SqliteType.Text);
        command.Parameters.AddWithValue("$pending", (int)ProductStatus.Pending);
        command.Parameters.AddWithValue("$indexed", (int)ProductStatus.Indexed);
        var changed = 0;
        foreach (var each in ids)
        {
            id.Value = each;
            changed += command.ExecuteNonQuery();
        }
        transaction.Commit();
        return changed;
    }

    public IReadOnlyDictionary<ProductStatus, int> CountByStatus()
    {
        using var connection = Open();
        using var command = Command(connection, "SELECT status, COUNT(*) FROM products GROUP BY status");
        using var reader = command.ExecuteReader();
        var counts = Enum.GetValues<ProductStatus>().ToDictionary(s => s, _ => 0);
        while (reader.Read())
            counts[(ProductStatus)reader.GetInt32(0)] = reader.GetInt32(1);
        return counts;
    }

    private bool SetStatus(string id, string contentHash, ProductStatus status, string? reason)
    {
        using var connection = Open();
        using var command = Command(connection, """
            UPDATE products SET status = $status, reason = $reason, updated_at = $now
            WHERE id = $id AND content_hash = $hash
            """);
        command.Parameters.AddWithValue("$id", id);
        command.Parameters.AddWithValue("$hash", contentHash);
        command.Parameters.AddWithValue("$status", (int)status);
        command.Parameters.AddWithValue("$reason", (object?)reason ?? DBNull.Value);
        command.Parameters.AddWithValue("$now", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        return command.ExecuteNonQuery() == 1;
    }

    private static ProductRecord ReadRecord(SqliteDataReader reader) => new(
        Deserialize(reader.GetString(0)),
        reader.GetString(1),
        (ProductStatus)reader.GetInt32(2),
        reader.IsDBNull(3) ? null : reader.GetString(3),
        DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4)));

    private static ProductInfo Deserialize(string json) =>
        JsonSerializer.Deserialize<ProductInfo>(json, Json) ?? throw new InvalidDataException("A catalog row holds no product.");

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        Execute(connection, "PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL;");
        return connection;
    }

    private static SqliteCommand Command(SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        return command;
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = Command(connection, sql);
        command.ExecuteNonQuery();
    }
}
