using Npgsql;
using NpgsqlTypes;
using Platform.Contracts;

namespace Platform.Catalog.Behaviour;

/// <summary>
/// The interaction log in the catalog's PostgreSQL database (its tables come with the catalog's schema migrations),
/// shared by the gateways, retrieval silos and indexers of a distributed platform. Appends and aggregation are one
/// transaction each; aggregation locks the rows it folds, so two indexers given the same event fold it once.
/// </summary>
public sealed class PostgresInteractionLog(PostgresProductCatalog database) : IInteractionLog
{
    private const string Columns = "seq, event_id, shopper_id, session_id, product_id, type, at";

    public Task<IReadOnlyList<LoggedInteraction>> AppendAsync(IReadOnlyList<Interaction> interactions, CancellationToken cancellationToken = default) =>
        database.Run<IReadOnlyList<LoggedInteraction>>(async ct =>
        {
            await using var connection = await database.Source.OpenConnectionAsync(ct);
            await using var transaction = await connection.BeginTransactionAsync(ct);
            var appended = new List<LoggedInteraction>(interactions.Count);
            foreach (var interaction in interactions)
            {
                await using var insert = new NpgsqlCommand("""
                    INSERT INTO interactions (event_id, shopper_id, session_id, product_id, type, at)
                    VALUES (@event, @shopper, @session, @product, @type, @at)
                    ON CONFLICT (event_id) DO NOTHING
                    RETURNING seq
                    """, connection, transaction);
                insert.Parameters.AddWithValue("event", interaction.EventId);
                insert.Parameters.AddWithValue("shopper", interaction.ShopperId);
                insert.Parameters.AddWithValue("session", NpgsqlDbType.Text, (object?)interaction.SessionId ?? DBNull.Value);
                insert.Parameters.AddWithValue("product", interaction.ProductId);
                insert.Parameters.AddWithValue("type", (int)interaction.Type);
                insert.Parameters.AddWithValue("at", interaction.At.ToUniversalTime());
                if (await insert.ExecuteScalarAsync(ct) is long sequence)
                    appended.Add(new LoggedInteraction(sequence, interaction));
            }
            await transaction.CommitAsync(ct);
            return appended;
        }, cancellationToken);

    public Task<IReadOnlyList<LoggedInteraction>> ShopperAsync(string shopperId, long afterSequence, int limit, CancellationToken cancellationToken = default) =>
        database.Run(async ct =>
        {
            await using var command = database.Source.CreateCommand(
                $"SELECT {Columns} FROM interactions WHERE shopper_id = @shopper AND seq > @after ORDER BY seq LIMIT @limit");
            command.Parameters.AddWithValue("shopper", shopperId);
            command.Parameters.AddWithValue("after", afterSequence);
            command.Parameters.AddWithValue("limit", limit);
            return await ReadAllAsync(command, ct);
        }, cancellationToken);

    public Task<IReadOnlyList<LoggedInteraction>> SessionAsync(string sessionId, int limit, CancellationToken cancellationToken = default) =>
        database.Run<IReadOnlyList<LoggedInteraction>>(async ct =>
        {
            await using var command = database.Source.CreateCommand(
                $"SELECT {Columns} FROM interactions WHERE session_id = @session ORDER BY seq DESC LIMIT @limit");
            command.Parameters.AddWithValue("session", sessionId);
            command.Parameters.AddWithValue("limit", limit);
            return [.. (await ReadAllAsync(command, ct)).Reverse()];
        }, cancellationToken);

    public Task<int> ForgetShopperAsync(string shopperId, CancellationToken cancellationToken = default) =>
        database.Run(async ct =>
        {
            await using var command = database.Source.CreateCommand("DELETE FROM interactions WHERE shopper_id = @shopper");
            command.Parameters.AddWithValue("shopper", shopperId);
            return await command.ExecuteNonQueryAsync(ct);
        }, cancellationToken);

    public Task<int> AggregateAsync(IReadOnlyList<string> eventIds, CancellationToken cancellationToken = default) =>
        database.Run(async ct =>
        {
            await using var connection = await database.Source.OpenConnectionAsync(ct);
            await using var transaction = await connection.BeginTransactionAsync(ct);
            var pending = new List<LoggedInteraction>();
            await using (var select = new NpgsqlCommand(
                $"SELECT {Columns} FROM interactions WHERE event_id = ANY(@events) AND NOT aggregated ORDER BY seq FOR UPDATE", connection, transaction))
            {
                select.Parameters.AddWithValue("events", eventIds.Distinct(StringComparer.Ordinal).ToArray());
                pending.AddRange(await ReadAllAsync(select, ct));
            }
            foreach (var logged in pending)
            {
                var interaction = logged.Interaction;
                var weight = InteractionAggregation.Popularity(interaction.Type);
                if (weight > 0)
                {
                    await using var popularity = new NpgsqlCommand("""
                        INSERT INTO popularity AS p (product_id, day, score) VALUES (@product, @day, @score)
                        ON CONFLICT (product_id, day) DO UPDATE SET score = p.score + excluded.score
                        """, connection, transaction);
                    popularity.Parameters.AddWithValue("product", interaction.ProductId);
                    popularity.Parameters.AddWithValue("day", InteractionAggregation.Day(interaction.At));
                    popularity.Parameters.AddWithValue("score", weight);
                    await popularity.ExecuteNonQueryAsync(ct);
                }
                var earlier = new List<(string, InteractionType)>();
                await using (var partners = new NpgsqlCommand($"""
                    SELECT product_id, type FROM interactions
                    WHERE shopper_id = @shopper AND seq < @seq AND at >= @from
                    ORDER BY seq DESC LIMIT {IInteractionLog.CoOccurrencePartners}
                    """, connection, transaction))
                {
                    partners.Parameters.AddWithValue("shopper", interaction.ShopperId);
                    partners.Parameters.AddWithValue("seq", logged.Sequence);
                    partners.Parameters.AddWithValue("from", (interaction.At - IInteractionLog.CoOccurrenceWindow).ToUniversalTime());
                    await using var reader = await partners.ExecuteReaderAsync(ct);
                    while (await reader.ReadAsync(ct))
                        earlier.Add((reader.GetString(0), (InteractionType)reader.GetInt32(1)));
                }
                foreach (var (a, b, score) in InteractionAggregation.Pairs(interaction, earlier))
                {
                    await using var pair = new NpgsqlCommand("""
                        INSERT INTO co_occurrence AS c (a, b, score) VALUES (@a, @b, @score)
                        ON CONFLICT (a, b) DO UPDATE SET score = c.score + excluded.score
                        """, connection, transaction);
                    pair.Parameters.AddWithValue("a", a);
                    pair.Parameters.AddWithValue("b", b);
                    pair.Parameters.AddWithValue("score", score);
                    await pair.ExecuteNonQueryAsync(ct);
                }
                await using var mark = new NpgsqlCommand("UPDATE interactions SET aggregated = true WHERE seq = @seq", connection, transaction);
                mark.Parameters.AddWithValue("seq", logged.Sequence);
                await mark.ExecuteNonQueryAsync(ct);
            }
            await transaction.CommitAsync(ct);
            return pending.Count;
        }, cancellationToken);

    public Task<IReadOnlyList<string>> UnaggregatedAsync(DateTimeOffset loggedBefore, int limit, CancellationToken cancellationToken = default) =>
        database.Run<IReadOnlyList<string>>(async ct =>
        {
            await using var command = database.Source.CreateCommand(
                "SELECT event_id FROM interactions WHERE NOT aggregated AND logged_at < @before ORDER BY logged_at, seq LIMIT @limit");
            command.Parameters.AddWithValue("before", loggedBefore.ToUniversalTime());
            command.Parameters.AddWithValue("limit", limit);
            await using var reader = await command.ExecuteReaderAsync(ct);
            var ids = new List<string>();
            while (await reader.ReadAsync(ct))
                ids.Add(reader.GetString(0));
            return ids;
        }, cancellationToken);

    public Task<IReadOnlyList<ProductScore>> PopularAsync(DateTimeOffset since, int limit, CancellationToken cancellationToken = default) =>
        database.Run(async ct =>
        {
            await using var command = database.Source.CreateCommand("""
                SELECT product_id, SUM(score) AS total FROM popularity WHERE day >= @day
                GROUP BY product_id ORDER BY total DESC, product_id LIMIT @limit
                """);
            command.Parameters.AddWithValue("day", InteractionAggregation.Day(since));
            command.Parameters.AddWithValue("limit", limit);
            return await ReadScoresAsync(command, ct);
        }, cancellationToken);

    public Task<IReadOnlyList<ProductScore>> CoOccurringAsync(string productId, int limit, CancellationToken cancellationToken = default) =>
        database.Run(async ct =>
        {
            await using var command = database.Source.CreateCommand("SELECT b, score FROM co_occurrence WHERE a = @a ORDER BY score DESC, b LIMIT @limit");
            command.Parameters.AddWithValue("a", productId);
            command.Parameters.AddWithValue("limit", limit);
            return await ReadScoresAsync(command, ct);
        }, cancellationToken);

    private static async Task<IReadOnlyList<LoggedInteraction>> ReadAllAsync(NpgsqlCommand command, CancellationToken ct)
    {
        await using var reader = await command.ExecuteReaderAsync(ct);
        var rows = new List<LoggedInteraction>();
        while (await reader.ReadAsync(ct))
        {
            rows.Add(new LoggedInteraction(reader.GetInt64(0), new Interaction(
                reader.GetString(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3), reader.GetString(4),
                (InteractionType)reader.GetInt32(5), reader.GetFieldValue<DateTimeOffset>(6))));
        }
        return rows;
    }

    private static async Task<IReadOnlyList<ProductScore>> ReadScoresAsync(NpgsqlCommand command, CancellationToken ct)
    {
        await using var reader = await command.ExecuteReaderAsync(ct);
        var rows = new List<ProductScore>();
        while (await reader.ReadAsync(ct))
            rows.Add(new ProductScore(reader.GetString(0), reader.GetDouble(1)));
        return rows;
    }
}
