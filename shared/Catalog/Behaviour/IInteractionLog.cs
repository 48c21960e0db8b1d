using Platform.Contracts;

namespace Platform.Catalog.Behaviour;

/// <summary>
/// The durable record of shoppers' interactions, and the aggregates over all shoppers drawn from it (popularity by
/// day, products interacted with together). An interaction is in the log before it is acknowledged, so a crash
/// loses nothing a client was told was recorded; a shopper's profile is rebuilt from it.
/// </summary>
/// <remarks>
/// Implementations: <see cref="SqliteInteractionLog"/> (one process, a file) and <see cref="PostgresInteractionLog"/>
/// (the catalog's database, shared by the processes of a distributed platform). Where the store cannot be reached,
/// calls throw <see cref="CatalogUnavailableException"/>.
/// </remarks>
public interface IInteractionLog
{
    /// <summary>
    /// Appends the interactions whose event ids the log does not hold yet, in the order given, in one transaction;
    /// returns those appended with their sequence numbers. An event id already logged (a retry) is skipped.
    /// </summary>
    Task<IReadOnlyList<LoggedInteraction>> AppendAsync(IReadOnlyList<Interaction> interactions, CancellationToken cancellationToken = default);

    /// <summary>A shopper's interactions after sequence <paramref name="afterSequence"/>, oldest first, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<LoggedInteraction>> ShopperAsync(string shopperId, long afterSequence, int limit, CancellationToken cancellationToken = default);

    /// <summary>A session's latest <paramref name="limit"/> interactions, oldest first.</summary>
    Task<IReadOnlyList<LoggedInteraction>> SessionAsync(string sessionId, int limit, CancellationToken cancellationToken = default);

    /// <summary>Deletes every interaction of the shopper; returns how many. The aggregates keep no shopper id.</summary>
    Task<int> ForgetShopperAsync(string shopperId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Folds the logged interactions with these event ids into the aggregates, each once however often it is asked
    /// (a message delivered again): its type's weight into the product's popularity on its day, and, unless it is a
    /// dislike, a pair weight with each product the same shopper interacted with in the
    /// <see cref="CoOccurrenceWindow"/> before it (the smaller of the two weights). Returns how many were folded.
    /// </summary>
    Task<int> AggregateAsync(IReadOnlyList<string> eventIds, CancellationToken cancellationToken = default);

    /// <summary>
    /// Event ids logged before <paramref name="loggedBefore"/> and not yet folded into the aggregates, oldest first: what
    /// a sweep folds when their <c>InteractionRecorded</c> never arrived (a gateway that died between the log and the
    /// bus, and a client that did not retry).
    /// </summary>
    Task<IReadOnlyList<string>> UnaggregatedAsync(DateTimeOffset loggedBefore, int limit, CancellationToken cancellationToken = default);

    /// <summary>The most popular products since <paramref name="since"/> (whole days, UTC), best first.</summary>
    Task<IReadOnlyList<ProductScore>> PopularAsync(DateTimeOffset since, int limit, CancellationToken cancellationToken = default);

    /// <summary>The products most often interacted with together with <paramref name="productId"/>, strongest first.</summary>
    Task<IReadOnlyList<ProductScore>> CoOccurringAsync(string productId, int limit, CancellationToken cancellationToken = default);

    /// <summary>How far back, before an interaction, the same shopper's interactions count as "together" with it.</summary>
    public static TimeSpan CoOccurrenceWindow => TimeSpan.FromHours(24);

    /// <summary>How many of the shopper's earlier interactions, at most, an interaction is paired with.</summary>
    public const int CoOccurrencePartners = 20;
}
