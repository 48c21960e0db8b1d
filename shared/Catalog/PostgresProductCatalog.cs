using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using NpgsqlTypes;
using Platform.Contracts;

namespace Platform.Catalog;

/// <summary>How to reach the PostgreSQL that holds the catalog.</summary>
public sealed record PostgresCatalogOptions
{
    /// <summary>An Npgsql connection string (<c>Host=...;Port=...;Database=...;Username=...;Password=...</c>).</summary>
    public required string ConnectionString { get; init; }

    /// <summary>How long <see cref="PostgresProductCatalog.InitializeAsync"/> waits for a server that is not up yet.</summary>
    public TimeSpan StartupWait { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The pause between attempts while waiting for the server.</summary>
    public TimeSpan RetryInterval { get; init; } = TimeSpan.FromMilliseconds(500);
}

/// <summary>
/// The catalog in PostgreSQL, shared by every gateway, encoder and indexer of a distributed platform. The same
/// semantics as <see cref="SqliteProductCatalog"/>; each operation is one statement (or one transaction), so
/// concurrent processes cannot interleave a check with its write. The schema is created and migrated on first use.
/// </summary>
public sealed class PostgresProductCatalog : IProductCatalog, IAsyncDisposable, IDisposable
{
    private const int PageSize = 500;

    // Any fixed key will do: it only has to be the same in every process that migrates this database.
    private const long MigrationLockKey = 0x706C_6174_6361_7431; // "platcat1"

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>
    /// The schema, in order; a migration, once shipped, is never edited (a database that applied it would not see the
    /// change): add the next one instead.
    /// </summary>
    private static readonly (int Version, string Sql)[] Migrations =
    [
        (1, """
            CREATE TABLE products (
                id text PRIMARY KEY,
                info jsonb NOT NULL,
                content_hash text NOT NULL,
                status integer NOT NULL,
                reason text NULL,
                image bytea NOT NULL,
                updated_at timestamptz NOT NULL
            );
            CREATE INDEX products_status_updated ON products (status, updated_at, id);
            """),
        // The interaction log (Behaviour/PostgresInteractionLog) and its aggregates share the catalog's database.
        (2, """
            CREATE TABLE interactions (
                seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                event_id text NOT NULL UNIQUE,
                shopper_id text NOT NULL,
                session_id text NULL,
                product_id text NOT NULL,
                type integer NOT NULL,
                at timestamptz NOT NULL,
                aggregated boolean NOT NULL DEFAULT false
            );
            CREATE INDEX interactions_shopper ON interactions (shopper_id, seq);
            CREATE INDEX interactions_session ON interactions (session_id, seq);
            CREATE TABLE popularity (
                product_id text NOT NULL,
                day bigint NOT NULL,
                score double precision NOT NULL,
                PRIMARY KEY (product_id, day)
            );
            CREATE INDEX popularity_day ON popularity (day);
            CREATE TABLE co_occurrence (
                a text NOT NULL,
                b text NOT NULL,
                score double precision NOT NULL,
                PRIMARY KEY (a, b)
            );
            """),
        (3, """
            ALTER TABLE interactions ADD COLUMN logged_at timestamptz NOT NULL DEFAULT now();
            CREATE INDEX interactions_unaggregated ON interactions (logged_at) WHERE NOT aggregated;
            """),
    ];

    private readonly NpgsqlDataSource _source;
    private readonly PostgresCatalogOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _migrating = new(1, 1);
    private volatile bool _schemaReady;

    /// <summary>The schema version this build migrates to.</summary>
    public static int SchemaVersion => Migrations[^1].Version;

    /// <summary>Where the server is, as messages name it: <c>host:port/database</c>.</summary>
    public string Server { get; }

    /// <exception cref="ArgumentException">The connection string cannot be parsed.</exception>
    public PostgresProductCatalog(PostgresCatalogOptions options, TimeProvider? time = null, ILogger<PostgresProductCatalog>? logger = null)
    {
        _options = options;
        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger<PostgresProductCatalog>.Instance;
        var builder = new NpgsqlConnectionStringBuilder(options.ConnectionString);
        Server = $"{builder.Host ?? "localhost"}:{builder.Port}/{builder.Database ?? builder.Username ?? "(default database)"}";
        _source = NpgsqlDataSource.Create(builder);
    }

    /// <summary>
    /// Waits up to <see cref="PostgresCatalogOptions.StartupWait"/> for the server, then creates or migrates the schema.
    /// Calls do this themselves on first use (without waiting); a host calls it at start so that a server that stays
    /// down stops the start with a message naming it.
    /// </summary>
    /// <exception cref="CatalogUnavailableException">The server did not answer in time.</exception>
    public Task InitializeAsync(CancellationToken cancellationToken = default) => EnsureSchemaAsync(_options.StartupWait, cancellationToken);

    public Task<IngestOutcome> RecordIngestAsync(ProductInfo product, byte[] image, string contentHash, CancellationToken cancellationToken = default) =>
        Run(async ct =>
        {
            // One statement: of concurrent ingests of one id, PostgreSQL makes each wait for the row the other wrote
            // and evaluates the WHERE against it, so the same content is accepted once. RETURNING yields a row only
            // when something was written.
            await using var command = _source.CreateCommand("""
                INSERT INTO products AS p (id, info, content_hash, status, reason, image, updated_at)
                VALUES (@id, @info, @hash, @pending, NULL, @image, @now)
                ON CONFLICT (id) DO UPDATE SET info = excluded.info, content_hash = excluded.content_hash,
                    status = excluded.status, reason = NULL, image = excluded.image, updated_at = excluded.updated_at
                WHERE p.content_hash <> excluded.content_hash OR p.status = @failed
                RETURNING 1
                """);
            command.Parameters.AddWithValue("id", product.Id);
            command.Parameters.AddWithValue("info", NpgsqlDbType.Jsonb, JsonSerializer.Serialize(product, Json));
            command.Parameters.AddWithValue("hash", contentHash);
            command.Parameters.AddWithValue("pending", (int)ProductStatus.Pending);
            command.Parameters.AddWithValue("failed", (int)ProductStatus.Failed);
            command.Parameters.AddWithValue("image", image);
            command.Parameters.AddWithValue("now", _time.GetUtcNow());
            return await command.ExecuteScalarAsync(ct) is null ? IngestOutcome.Unchanged : IngestOutcome.Accepted;
        }, cancellationToken);

    public Task<bool> MarkIndexedAsync(string id, string contentHash, CancellationToken cancellationToken = default) =>
        SetStatus(id, contentHash, ProductStatus.Indexed, null, cancellationToken);

    public Task<bool> MarkFailedAsync(string id, string contentHash, string reason, CancellationToken cancellationToken = default) =>
        SetStatus(id, contentHash, ProductStatus.Failed, reason, cancellationToken);

    public Task<bool> NeedsEncodingAsync(string id, string contentHash, CancellationToken cancellationToken = default) =>
        Exists("SELECT 1 FROM products WHERE id = @id AND content_hash = @hash AND status <> @indexed", id, contentHash, cancellationToken);

    public Task<bool> IsCurrentAsync(string id, string contentHash, CancellationToken cancellationToken = default) =>
        Exists("SELECT 1 FROM products WHERE id = @id AND content_hash = @hash", id, contentHash, cancellationToken);

    public Task<ProductRecord?> GetAsync(string id, CancellationToken cancellationToken = default) =>
        Run(async ct =>
        {
            await using var command = _source.CreateCommand("SELECT info, content_hash, status, reason, updated_at FROM products WHERE id = @id");
            command.Parameters.AddWithValue("id", id);
            await using var reader = await command.ExecuteReaderAsync(ct);
            if (!await reader.ReadAsync(ct))
                return null;
            return new ProductRecord(
                Deserialize(reader.GetString(0)),
                reader.GetString(1),
                (ProductStatus)reader.GetInt32(2),
                reader.IsDBNull(3) ? null : reader.GetString(3),
                reader.GetFieldValue<DateTimeOffset>(4));
        }, cancellationToken);

    public Task<IReadOnlyList<string>> MissingAsync(IEnumerable<string> ids, CancellationToken cancellationToken = default)
    {
        var distinct = ids.Distinct(StringComparer.Ordinal).ToArray();
        if (distinct.Length == 0)
            return Task.FromResult<IReadOnlyList<string>>([]);
        return Run<IReadOnlyList<string>>(async ct =>
        {
            await using var command = _source.CreateCommand("SELECT id FROM products WHERE id = ANY(@ids)");
            command.Parameters.AddWithValue("ids", distinct);
            await using var reader = await command.ExecuteReaderAsync(ct);
            var found = new HashSet<string>(StringComparer.Ordinal);
            while (await reader.ReadAsync(ct))
                found.Add(reader.GetString(0));
            return [.. distinct.Where(id => !found.Contains(id))];
        }, cancellationToken);
    }

    public Task<byte[]?> ImageToEncodeAsync(string id, string contentHash, CancellationToken cancellationToken = default) =>
        Run(async ct =>
        {
            await using var command = _source.CreateCommand("SELECT image FROM products WHERE id = @id AND content_hash = @hash AND status <> @indexed");
            command.Parameters.AddWithValue("id", id);
            command.Parameters.AddWithValue("hash", contentHash);
            command.Parameters.AddWithValue("indexed", (int)ProductStatus.Indexed);
            return await command.ExecuteScalarAsync(ct) as byte[];
        }, cancellationToken);

    public IAsyncEnumerable<IngestProduct> PendingAsync(CancellationToken cancellationToken = default) => PendingUntil(null, cancellationToken);

    public IAsyncEnumerable<IngestProduct> PendingOlderThanAsync(TimeSpan age, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(age, TimeSpan.Zero);
        return PendingUntil(_time.GetUtcNow() - age, cancellationToken);
    }

    public Task<IReadOnlyList<string>> IndexedIdsAsync(CancellationToken cancellationToken = default) =>
        Run<IReadOnlyList<string>>(async ct =>
        {
            await using var command = _source.CreateCommand("SELECT id FROM products WHERE status = @indexed");
            command.Parameters.AddWithValue("indexed", (int)ProductStatus.Indexed);
            await using var reader = await command.ExecuteReaderAsync(ct);
            var ids = new List<string>();
            while (await reader.ReadAsync(ct))
                ids.Add(reader.GetString(0));
            return ids;
        }, cancellationToken);

    public Task<int> MarkPendingAsync(IEnumerable<string> ids, CancellationToken cancellationToken = default)
    {
        var distinct = ids.Distinct(StringComparer.Ordinal).ToArray();
        if (distinct.Length == 0)
            return Task.FromResult(0);
        return Run(async ct =>
        {
            // The timestamp moves too: pending since now, so a periodic re-sender does not take them for stragglers at once.
            await using var command = _source.CreateCommand(
                "UPDATE products SET status = @pending, reason = NULL, updated_at = @now WHERE id = ANY(@ids) AND status = @indexed");
            command.Parameters.AddWithValue("ids", distinct);
            command.Parameters.AddWithValue("pending", (int)ProductStatus.Pending);
            command.Parameters.AddWithValue("indexed", (int)ProductStatus.Indexed);
            command.Parameters.AddWithValue("now", _time.GetUtcNow());
            return await command.ExecuteNonQueryAsync(ct);
        }, cancellationToken);
    }

    public Task<IReadOnlyDictionary<ProductStatus, int>> CountByStatusAsync(CancellationToken cancellationToken = default) =>
        Run<IReadOnlyDictionary<ProductStatus, int>>(async ct =>
        {
            await using var command = _source.CreateCommand("SELECT status, COUNT(*) FROM products GROUP BY status");
            await using var reader = await command.ExecuteReaderAsync(ct);
            var counts = Enum.GetValues<ProductStatus>().ToDictionary(s => s, _ => 0);
            while (await reader.ReadAsync(ct))
                counts[(ProductStatus)reader.GetInt32(0)] = checked((int)reader.GetInt64(1));
            return counts;
        }, cancellationToken);

    public Task<IReadOnlyDictionary<string, ProductStatus>> StatusesAsync(CancellationToken cancellationToken = default) =>
        Run<IReadOnlyDictionary<string, ProductStatus>>(async ct =>
        {
            await using var command = _source.CreateCommand("SELECT id, status FROM products");
            await using var reader = await command.ExecuteReaderAsync(ct);
            var statuses = new Dictionary<string, ProductStatus>(StringComparer.Ordinal);
            while (await reader.ReadAsync(ct))
                statuses[reader.GetString(0)] = (ProductStatus)reader.GetInt32(1);
            return statuses;
        }, cancellationToken);

    public Task PingAsync(CancellationToken cancellationToken = default) =>
        Run(async ct =>
        {
            await using var command = _source.CreateCommand("SELECT 1");
            return await command.ExecuteScalarAsync(ct);
        }, cancellationToken);

    public ValueTask DisposeAsync()
    {
        _migrating.Dispose();
        return _source.DisposeAsync();
    }

    public void Dispose()
    {
        _migrating.Dispose();
        _source.Dispose();
    }

    /// <summary>
    /// Pages by (updated_at, id) rather than one long query: the caller publishes each product to the bus between
    /// items, which may block, and a page at a time holds no connection meanwhile.
    /// </summary>
    private async IAsyncEnumerable<IngestProduct> PendingUntil(DateTimeOffset? updatedAtMost, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        (DateTimeOffset UpdatedAt, string Id)? after = null;
        while (true)
        {
            var page = await Run(async ct =>
            {
                var conditions = "status = @pending";
                if (updatedAtMost is not null)
                    conditions += " AND updated_at <= @until";
                if (after is not null)
                    conditions += " AND (updated_at, id) > (@after_at, @after_id)";
                await using var command = _source.CreateCommand(
                    $"SELECT id, info, content_hash, updated_at FROM products WHERE {conditions} ORDER BY updated_at, id LIMIT {PageSize}");
                command.Parameters.AddWithValue("pending", (int)ProductStatus.Pending);
                if (updatedAtMost is { } until)
                    command.Parameters.AddWithValue("until", until);
                if (after is { } cursor)
                {
                    command.Parameters.AddWithValue("after_at", cursor.UpdatedAt);
                    command.Parameters.AddWithValue("after_id", cursor.Id);
                }
                await using var reader = await command.ExecuteReaderAsync(ct);
                var rows = new List<(string Id, IngestProduct Product, DateTimeOffset UpdatedAt)>();
                while (await reader.ReadAsync(ct))
                    rows.Add((reader.GetString(0), new IngestProduct(Deserialize(reader.GetString(1)), reader.GetString(2)), reader.GetFieldValue<DateTimeOffset>(3)));
                return rows;
            }, cancellationToken);
            foreach (var row in page)
                yield return row.Product;
            if (page.Count < PageSize)
                yield break;
            after = (page[^1].UpdatedAt, page[^1].Id);
        }
    }

    private Task<bool> Exists(string sql, string id, string contentHash, CancellationToken cancellationToken) =>
        Run(async ct =>
        {
            await using var command = _source.CreateCommand(sql);
            command.Parameters.AddWithValue("id", id);
            command.Parameters.AddWithValue("hash", contentHash);
            command.Parameters.AddWithValue("indexed", (int)ProductStatus.Indexed);
            return await command.ExecuteScalarAsync(ct) is not null;
        }, cancellationToken);

    private Task<bool> SetStatus(string id, string contentHash, ProductStatus status, string? reason, CancellationToken cancellationToken) =>
        Run(async ct =>
        {
            await using var command = _source.CreateCommand("""
                UPDATE products SET status = @status, reason = @reason, updated_at = @now
                WHERE id = @id AND content_hash = @hash
                """);
            command.Parameters.AddWithValue("id", id);
            command.Parameters.AddWithValue("hash", contentHash);
            command.Parameters.AddWithValue("status", (int)status);
            command.Parameters.AddWithValue("reason", NpgsqlDbType.Text, (object?)reason ?? DBNull.Value);
            command.Parameters.AddWithValue("now", _time.GetUtcNow());
            return await command.ExecuteNonQueryAsync(ct) == 1;
        }, cancellationToken);

    /// <summary>The connection pool, for the interaction log that shares this database.</summary>
    internal NpgsqlDataSource Source => _source;

    /// <summary>Runs one operation, the schema made first if it is not yet; a server that cannot be reached becomes <see cref="CatalogUnavailableException"/>.</summary>
    internal async Task<T> Run<T>(Func<CancellationToken, Task<T>> operation, CancellationToken cancellationToken)
    {
        if (!_schemaReady)
            await EnsureSchemaAsync(TimeSpan.Zero, cancellationToken);
        try
        {
            return await operation(cancellationToken);
        }
        catch (Exception e) when (IsUnavailable(e))
        {
            // The pool's other idle connections went down with this one: drop them, so calls after the server is back
            // do not fail on them one by one.
            _source.Clear();
            throw new CatalogUnavailableException($"the catalog is unavailable: PostgreSQL at {Server} cannot be reached ({e.Message})", e);
        }
    }

    private async Task EnsureSchemaAsync(TimeSpan wait, CancellationToken cancellationToken)
    {
        await _migrating.WaitAsync(cancellationToken);
        try
        {
            var started = Stopwatch.StartNew();
            for (var attempt = 1; !_schemaReady; attempt++)
            {
                try
                {
                    await MigrateAsync(cancellationToken);
                    _schemaReady = true;
                }
                catch (Exception e) when (IsUnavailable(e))
                {
                    _source.Clear();
                    if (started.Elapsed + _options.RetryInterval > wait)
                    {
                        throw new CatalogUnavailableException(wait > TimeSpan.Zero
                            ? $"the catalog is unavailable: PostgreSQL at {Server} did not answer within {wait.TotalSeconds:0.#} s ({attempt} attempts; last: {e.Message})"
                            : $"the catalog is unavailable: PostgreSQL at {Server} cannot be reached ({e.Message})", e);
                    }
                    if (attempt == 1)
                        _logger.LogWarning("PostgreSQL at {Server} does not answer yet ({Reason}); waiting up to {Wait} s", Server, e.Message, wait.TotalSeconds);
                    await Task.Delay(_options.RetryInterval, cancellationToken);
                }
                catch (PostgresException e)
                {
                    // Refused for good (no such database, wrong password, no permission): waiting will not help.
                    throw new CatalogUnavailableException($"the catalog is unavailable: PostgreSQL at {Server} refused: {e.MessageText} (SQLSTATE {e.SqlState})", e);
                }
            }
        }
        finally
        {
            _migrating.Release();
        }
    }

    /// <summary>
    /// Applies the migrations this database lacks, in one transaction under an advisory lock: processes starting at
    /// once take turns, and the later ones find the work done. A database migrated by a newer build (versions this
    /// one does not know) is used as it is: migrations only add, so an older process still finds what it needs.
    /// </summary>
    private async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _source.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var command = new NpgsqlCommand("SELECT pg_advisory_xact_lock(@key)", connection, transaction))
        {
            command.Parameters.AddWithValue("key", MigrationLockKey);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        await using (var command = new NpgsqlCommand(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL)", connection, transaction))
            await command.ExecuteNonQueryAsync(cancellationToken);

        var applied = new HashSet<int>();
        await using (var command = new NpgsqlCommand("SELECT version FROM schema_migrations", connection, transaction))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
                applied.Add(reader.GetInt32(0));
        }

        foreach (var (version, sql) in Migrations.Where(m => !applied.Contains(m.Version)))
        {
            await using (var command = new NpgsqlCommand(sql, connection, transaction))
                await command.ExecuteNonQueryAsync(cancellationToken);
            await using (var command = new NpgsqlCommand("INSERT INTO schema_migrations (version, applied_at) VALUES (@version, now())", connection, transaction))
            {
                command.Parameters.AddWithValue("version", version);
                await command.ExecuteNonQueryAsync(cancellationToken);
            }
            _logger.LogInformation("Catalog schema on {Server}: applied migration {Version}", Server, version);
        }
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>
    /// A failure of the connection rather than of the statement: the network, a server down or shutting down
    /// (SQLSTATE class 57P), starting up, out of connections (53), or a broken connection (08).
    /// </summary>
    private static bool IsUnavailable(Exception e) => e switch
    {
        PostgresException p => p.SqlState.StartsWith("08", StringComparison.Ordinal)
            || p.SqlState.StartsWith("57P", StringComparison.Ordinal)
            || p.SqlState.StartsWith("53", StringComparison.Ordinal),
        NpgsqlException => true,
        _ => false,
    };

    private static ProductInfo Deserialize(string json) =>
        JsonSerializer.Deserialize<ProductInfo>(json, Json) ?? throw new InvalidDataException("A catalog row holds no product.");
}
