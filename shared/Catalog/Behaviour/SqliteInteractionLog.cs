using Microsoft.Data.Sqlite;
using Platform.Contracts;

namespace Platform.Catalog.Behaviour;

/// <summary>The interaction log in one SQLite file (WAL), beside the catalog of a platform in one process.</summary>
public sealed class SqliteInteractionLog : IInteractionLog
{
    private readonly string _connectionString;
    private readonly TimeProvider _time;

    /// <param name="databasePath">The database file, created with its folder if missing.</param>
    /// <param name="time">The clock that stamps when an event was logged (tests pass their own).</param>
    public SqliteInteractionLog(string databasePath, TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        var path = Path.GetFullPath(databasePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        _connectionString = SqliteSupport.ConnectionString(path);
        using var connection = SqliteSupport.Open(_connectionString);
        SqliteSupport.Execute(connection, """
            PRAGMA journal_mode = WAL;
            CREATE TABLE IF NOT EXISTS interactions (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                event_id TEXT NOT NULL UNIQUE,
                shopper_id TEXT NOT NULL,
                session_id TEXT NULL,
                product_id TEXT NOT NULL,
                type INTEGER NOT NULL,
                at INTEGER NOT NULL,
                aggregated INTEGER NOT NULL DEFAULT 0,
                logged_at INTEGER NOT NULL DEFAULT 0
            );
            CREATE INDEX IF NOT EXISTS interactions_shopper ON interactions(shopper_id, seq);
            CREATE INDEX IF NOT EXISTS interactions_session ON interactions(session_id, seq);
            CREATE TABLE IF NOT EXISTS popularity (
                product_id TEXT NOT NULL,
                day INTEGER NOT NULL,
                score REAL NOT NULL,
                PRIMARY KEY (product_id, day)
            );
            CREATE INDEX IF NOT EXISTS popularity_day ON popularity(day);
            CREATE TABLE IF NOT EXISTS co_occurrence (
                a TEXT NOT NULL,
                b TEXT NOT NULL,
                score REAL NOT NULL,
                PRIMARY KEY (a, b)
            );
            """);
        // A log made before events were stamped with when they were logged gains the column (its rows count as long logged).
        using (var columns = SqliteSupport.Command(connection, "SELECT COUNT(*) FROM pragma_table_info('interactions') WHERE name = 'logged_at'"))
        {
            if ((long)columns.ExecuteScalar()! == 0)
                SqliteSupport.Execute(connection, "ALTER TABLE interactions ADD COLUMN logged_at INTEGER NOT NULL DEFAULT 0");
        }
        SqliteSupport.Execute(connection, "CREATE INDEX IF NOT EXISTS interactions_unaggregated ON interactions(logged_at) WHERE aggregated = 0");
    }

    public Task<IReadOnlyList<LoggedInteraction>> AppendAsync(IReadOnlyList<Interaction> interactions, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using var connection = SqliteSupport.Open(_connectionString);
        using var transaction = connection.BeginTransaction();
        using var insert = SqliteSupport.Command(connection, """
            INSERT INTO interactions (event_id, shopper_id, session_id, product_id, type, at, logged_at)
            VALUES ($event, $shopper, $session, $product, $type, $at, $logged)
            ON CONFLICT(event_id) DO NOTHING
            RETURNING seq
            """, transaction);
        var appended = new List<LoggedInteraction>(interactions.Count);
        foreach (var interaction in interactions)
        {
            insert.Parameters.Clear();
            insert.Parameters.AddWithValue("$event", interaction.EventId);
            insert.Parameters.AddWithValue("$shopper", interaction.ShopperId);
            insert.Parameters.AddWithValue("$session", (object?)interaction.SessionId ?? DBNull.Value);
            insert.Parameters.AddWithValue("$product", interaction.ProductId);
            insert.Parameters.AddWithValue("$type", (int)interaction.Type);
            insert.Parameters.AddWithValue("$at", interaction.At.ToUnixTimeMilliseconds());
            insert.Parameters.AddWithValue("$logged", _time.GetUtcNow().ToUnixTimeMilliseconds());
            if (insert.ExecuteScalar() is long sequence)
                appended.Add(new LoggedInteraction(sequence, interaction));
        }
        transaction.Commit();
        return Task.FromResult<IReadOnlyList<LoggedInteraction>>(appended);
    }

    public Task<IReadOnlyList<LoggedInteraction>> ShopperAsync(string shopperId, long afterSequence, int limit, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using var connection = SqliteSupport.Open(_connectionString);
        using var command = SqliteSupport.Command(connection, $"""
            SELECT {Columns} FROM interactions WHERE shopper_id = $shopper AND seq > $after ORDER BY seq LIMIT $limit
            """);
        command.Parameters.AddWithValue("$shopper", shopperId);
        command.Parameters.AddWithValue("$after", afterSequence);
        command.Parameters.AddWithValue("$limit", limit);
        return Task.FromResult(ReadAll(command));
    }

    public Task<IReadOnlyList<LoggedInteraction>> SessionAsync(string sessionId, int limit, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using var connection = SqliteSupport.Open(_connectionString);
        using var command = SqliteSupport.Command(connection, $"""
            SELECT {Columns} FROM interactions WHERE session_id = $session ORDER BY seq DESC LIMIT $limit
            """);
        command.Parameters.AddWithValue("$session", sessionId);
        command.Parameters.AddWithValue("$limit", limit);
        return Task.FromResult<IReadOnlyList<LoggedInteraction>>([.. ReadAll(command).Reverse()]);
    }

    public Task<int> ForgetShopperAsync(string shopperId, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using var connection = SqliteSupport.Open(_connectionString);
        using var command = SqliteSupport.Command(connection, "DELETE FROM interactions WHERE shopper_id = $shopper");
        command.Parameters.AddWithValue("$shopper", shopperId);
        return Task.FromResult(command.ExecuteNonQuery());
    }

    public Task<int> AggregateAsync(IReadOnlyList<string> eventIds, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using var connection = SqliteSupport.Open(_connectionString);
        // IMMEDIATE: the write lock from the start, so two aggregators cannot both read an event as not yet folded.
        using var transaction = connection.BeginTransaction(deferred: false);
        using var select = SqliteSupport.Command(connection, $"SELECT {Columns} FROM interactions WHERE event_id = $event AND aggregated = 0", transaction);
        using var partners = SqliteSupport.Command(connection, $"""
            SELECT product_id, type FROM interactions
            WHERE shopper_id = $shopper AND seq < $seq AND at >= $from
            ORDER BY seq DESC LIMIT {IInteractionLog.CoOccurrencePartners}
            """, transaction);
        using var popularity = SqliteSupport.Command(connection, """
            INSERT INTO popularity (product_id, day, score) VALUES ($product, $day, $score)
            ON CONFLICT(product_id, day) DO UPDATE SET score = score + excluded.score
            """, transaction);
        using var pair = SqliteSupport.Command(connection, """
            INSERT INTO co_occurrence (a, b, score) VALUES ($a, $b, $score)
            ON CONFLICT(a, b) DO UPDATE SET score = score + excluded.score
            """, transaction);
        using var mark = SqliteSupport.Command(connection, "UPDATE interactions SET aggregated = 1 WHERE seq = $seq", transaction);
        var folded = 0;
        foreach (var eventId in eventIds.Distinct(StringComparer.Ordinal))
        {
            select.Parameters.Clear();
            select.Parameters.AddWithValue("$event", eventId);
            if (ReadAll(select) is not [var logged])
                continue;
            var interaction = logged.Interaction;
            var weight = InteractionAggregation.Popularity(interaction.Type);
            if (weight > 0)
            {
                popularity.Parameters.Clear();
                popularity.Parameters.AddWithValue("$product", interaction.ProductId);
                popularity.Parameters.AddWithValue("$day", InteractionAggregation.Day(interaction.At));
                popularity.Parameters.AddWithValue("$score", weight);
                popularity.ExecuteNonQuery();
            }
            partners.Parameters.Clear();
            partners.Parameters.AddWithValue("$shopper", interaction.ShopperId);
            partners.Parameters.AddWithValue("$seq", logged.Sequence);
            partners.Parameters.AddWithValue("$from", (interaction.At - IInteractionLog.CoOccurrenceWindow).ToUnixTimeMilliseconds());
            var earlier = new List<(string, InteractionType)>();
            using (var reader = partners.ExecuteReader())
            {
                while (reader.Read())
                    earlier.Add((reader.GetString(0), (InteractionType)reader.GetInt32(1)));
            }
            foreach (var (a, b, score) in InteractionAggregation.Pairs(interaction, earlier))
            {
                pair.Parameters.Clear();
                pair.Parameters.AddWithValue("$a", a);
                pair.Parameters.AddWithValue("$b", b);
                pair.Parameters.AddWithValue("$score", score);
                pair.ExecuteNonQuery();
            }
            mark.Parameters.Clear();
            mark.Parameters.AddWithValue("$seq", logged.Sequence);
            mark.ExecuteNonQuery();
            folded++;
        }
        transaction.Commit();
        return Task.FromResult(folded);
    }

    public Task<IReadOnlyList<string>> UnaggregatedAsync(DateTimeOffset loggedBefore, int limit, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using var connection = SqliteSupport.Open(_connectionString);
        using var command = SqliteSupport.Command(connection,
            "SELECT event_id FROM interactions WHERE aggregated = 0 AND logged_at < $before ORDER BY logged_at, seq LIMIT $limit");
        command.Parameters.AddWithValue("$before", loggedBefore.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$limit", limit);
        using var reader = command.ExecuteReader();
        var ids = new List<string>();
        while (reader.Read())
            ids.Add(reader.GetString(0));
        return Task.FromResult<IReadOnlyList<string>>(ids);
    }

    public Task<IReadOnlyList<ProductScore>> PopularAsync(DateTimeOffset since, int limit, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using var connection = SqliteSupport.Open(_connectionString);
        using var command = SqliteSupport.Command(connection, """
            SELECT product_id, SUM(score) AS total FROM popularity WHERE day >= $day
            GROUP BY product_id ORDER BY total DESC, product_id LIMIT $limit
            """);
        command.Parameters.AddWithValue("$day", InteractionAggregation.Day(since));
        command.Parameters.AddWithValue("$limit", limit);
        return Task.FromResult(ReadScores(command));
    }

    public Task<IReadOnlyList<ProductScore>> CoOccurringAsync(string productId, int limit, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using var connection = SqliteSupport.Open(_connectionString);
        using var command = SqliteSupport.Command(connection, "SELECT b, score FROM co_occurrence WHERE a = $a ORDER BY score DESC, b LIMIT $limit");
        command.Parameters.AddWithValue("$a", productId);
        command.Parameters.AddWithValue("$limit", limit);
        return Task.FromResult(ReadScores(command));
    }

    private const string Columns = "seq, event_id, shopper_id, session_id, product_id, type, at";

    private static IReadOnlyList<LoggedInteraction> ReadAll(SqliteCommand command)
    {
        using var reader = command.ExecuteReader();
        var rows = new List<LoggedInteraction>();
        while (reader.Read())
        {
            rows.Add(new LoggedInteraction(reader.GetInt64(0), new Interaction(
                reader.GetString(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3), reader.GetString(4),
                (InteractionType)reader.GetInt32(5), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(6)))));
        }
        return rows;
    }

    private static IReadOnlyList<ProductScore> ReadScores(SqliteCommand command)
    {
        using var reader = command.ExecuteReader();
        var rows = new List<ProductScore>();
        while (reader.Read())
            rows.Add(new ProductScore(reader.GetString(0), reader.GetDouble(1)));
        return rows;
    }
}
