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
/// The durable record of every ingested product. A product is written here before the ingest is acknowledged, with
/// its image, so a crash between acknowledgement and indexing loses nothing: pending products are re-sent. Status
/// changes name the content they are about (its hash), so a late message about replaced content changes nothing.
/// </summary>
/// <remarks>
/// Implementations: <see cref="SqliteProductCatalog"/> (one process, a file) and <see cref="PostgresProductCatalog"/>
/// (shared by the processes of a distributed platform). Where the store cannot be reached, calls throw
/// <see cref="CatalogUnavailableException"/>.
/// </remarks>
public interface IProductCatalog
{
    /// <summary>
    /// Records an ingest as pending unless the same content is already pending or indexed. Atomic: of concurrent
    /// ingests of the same content, exactly one is <see cref="IngestOutcome.Accepted"/>.
    /// </summary>
    Task<IngestOutcome> RecordIngestAsync(ProductInfo product, byte[] image, string contentHash, CancellationToken cancellationToken = default);

    /// <summary>Marks the product indexed, only if <paramref name="contentHash"/> is still its current content.</summary>
    Task<bool> MarkIndexedAsync(string id, string contentHash, CancellationToken cancellationToken = default);

    /// <summary>Marks the product failed with a reason, only if <paramref name="contentHash"/> is still its current content.</summary>
    Task<bool> MarkFailedAsync(string id, string contentHash, string reason, CancellationToken cancellationToken = default);

    /// <summary>True when <paramref name="contentHash"/> is the product's current content and it is not indexed yet.</summary>
    Task<bool> NeedsEncodingAsync(string id, string contentHash, CancellationToken cancellationToken = default);

    /// <summary>True when <paramref name="contentHash"/> is the product's current content.</summary>
    Task<bool> IsCurrentAsync(string id, string contentHash, CancellationToken cancellationToken = default);

    /// <summary>The product with <paramref name="id"/>, or null when the catalog has none.</summary>
    Task<ProductRecord?> GetAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Those of <paramref name="ids"/> the catalog has no product for, each once, in the order given: one look-up for a batch.</summary>
    Task<IReadOnlyList<string>> MissingAsync(IEnumerable<string> ids, CancellationToken cancellationToken = default);

    /// <summary>
    /// The image of content <paramref name="contentHash"/> when it still needs encoding (as <see cref="NeedsEncodingAsync"/>
    /// says), in the same look-up; null when the product is gone, its content was replaced, or it is indexed already.
    /// </summary>
    Task<byte[]?> ImageToEncodeAsync(string id, string contentHash, CancellationToken cancellationToken = default);

    /// <summary>Products accepted but not yet indexed or failed, oldest first: the work a restart must redo.</summary>
    IAsyncEnumerable<IngestProduct> PendingAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Products pending for longer than <paramref name="age"/> (since their content was accepted or last changed
    /// status), oldest first: what a periodic re-sender hands to the bus again, leaving alone what is still on its way.
    /// </summary>
    IAsyncEnumerable<IngestProduct> PendingOlderThanAsync(TimeSpan age, CancellationToken cancellationToken = default);

    /// <summary>Ids of the products marked indexed.</summary>
    Task<IReadOnlyList<string>> IndexedIdsAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Marks indexed products pending again, so <see cref="PendingAsync"/> hands them out to be encoded once more
    /// (their vectors were lost). Returns how many changed.
    /// </summary>
    Task<int> MarkPendingAsync(IEnumerable<string> ids, CancellationToken cancellationToken = default);

    /// <summary>How many products are in each status (every status present, zero where none).</summary>
    Task<IReadOnlyDictionary<ProductStatus, int>> CountByStatusAsync(CancellationToken cancellationToken = default);

    /// <summary>Every product's id and status, read in one statement (a consistent snapshot, for fault tests and audits).</summary>
    Task<IReadOnlyDictionary<string, ProductStatus>> StatusesAsync(CancellationToken cancellationToken = default);

    /// <summary>Checks the store answers (for the health check); throws <see cref="CatalogUnavailableException"/> when it does not.</summary>
    Task PingAsync(CancellationToken cancellationToken = default);
}

/// <summary>
/// The catalog's store cannot be reached (a database server down, a network failure). Nothing the call was to write
/// was acknowledged; the caller may retry later. The gateway answers it with 503.
/// </summary>
public sealed class CatalogUnavailableException(string message, Exception? innerException = null)
    : Exception(message, innerException);
