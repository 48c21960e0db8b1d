using MassTransit;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Platform.Catalog;
using Platform.Contracts;
using Platform.Inference;
using Platform.Inference.Imaging;
using Platform.ServiceDefaults;

namespace Platform.Gateway;

/// <summary>The result of an ingest: the product's id and where it stands.</summary>
public sealed record IngestReceipt(string Id, ProductStatus Status, string ContentHash);

/// <summary>
/// Accepts a product: validates its fields and decodes its image (so bad input is refused at once, before anything
/// is stored), records it durably in the catalog, then hands it to the encoders over the bus. The decoded tensor is
/// kept for an encoder in this process, so the image is not decoded twice.
/// </summary>
public sealed class IngestService(IProductCatalog catalog, ImagePreprocessor images, PreprocessedImageCache preprocessed,
    IPublishEndpoint bus, ILogger<IngestService> logger, BusSettings? busSettings = null)
{
    /// <summary>How long handing an accepted product to the bus may take before the ingest answers 503 (it stays
    /// pending: a retry, the periodic re-send or the next start sends it). <see cref="BusSettings.PublishTimeout"/>.</summary>
    public TimeSpan PublishTimeout { get; } = (busSettings ?? new BusSettings()).PublishTimeout;

    public async Task<IngestReceipt> IngestAsync(ProductInfo product, byte[] image, CancellationToken cancellationToken = default)
    {
        product = ProductValidation.Validate(product);
        // A full decode, not just the header: a truncated file must fail here, not later in the encoder.
        var tensor = images.PreprocessWithInfo(image).Tensor;

        var hash = ContentHash.Compute(product, image);
        // The caller's token is not passed to the write: a cancel mid-statement would leave the caller unsure whether
        // the product was recorded. The store's own command timeout bounds it.
        if (await catalog.RecordIngestAsync(product, image, hash, CancellationToken.None) == IngestOutcome.Unchanged)
        {
            var status = (await catalog.GetAsync(product.Id, CancellationToken.None))?.Status ?? ProductStatus.Pending;
            // Same content still pending: the caller may be retrying an ingest whose hand-over to the bus failed (a
            // 503, a dropped connection), so it is handed over again; consumers skip what is already on its way.
            if (status == ProductStatus.Pending)
                await PublishAsync(new IngestProduct(product, hash));
            return new IngestReceipt(product.Id, status, hash);
        }
        preprocessed.Add(hash, tensor);
        await PublishAsync(new IngestProduct(product, hash));
        return new IngestReceipt(product.Id, ProductStatus.Pending, hash);
    }

    /// <summary>
    /// Hands a recorded product to the bus. Once the catalog holds it, it must reach the encoders even if the caller
    /// goes away now (a client that disconnects would otherwise leave it pending), so the caller's token no longer
    /// applies, only a bound of our own: a broker that is down blocks a publish without limit.
    /// </summary>
    private async Task PublishAsync(IngestProduct message)
    {
        using var publishing = new CancellationTokenSource(PublishTimeout);
        try
        {
            await bus.Publish(message, publishing.Token);
        }
        catch (OperationCanceledException) when (publishing.IsCancellationRequested)
        {
            logger.LogWarning("The bus did not accept product {Id} within {Seconds} s; it stays pending", message.Product.Id, PublishTimeout.TotalSeconds);
            throw new ApiProblem(StatusCodes.Status503ServiceUnavailable, "Service unavailable",
                $"the message bus did not accept product '{message.Product.Id}' within {PublishTimeout.TotalSeconds:0.#} s. " +
                "It is recorded and will be sent once the bus is back; sending it again is safe.");
        }
    }

    /// <summary>
    /// Re-sends the products accepted but not indexed before the last stop (in-memory messages do not survive a
    /// crash; the catalog does). Consumers are idempotent, so a product already on its way is not encoded twice.
    /// </summary>
    public async Task<int> ResendPendingAsync(CancellationToken cancellationToken)
    {
        var resent = 0;
        await foreach (var pending in catalog.PendingAsync(cancellationToken))
        {
            await bus.Publish(pending, cancellationToken);
            resent++;
        }
        if (resent > 0)
            logger.LogInformation("Re-sent {Count} products accepted before the last stop but not yet indexed", resent);
        return resent;
    }

    /// <summary>
    /// Re-sends products pending for longer than <paramref name="age"/>, skipping those <paramref name="resentAt"/>
    /// says were re-sent within that time (so a long backlog is not sent again and again); returns how many were sent.
    /// </summary>
    public async Task<int> ResendStalePendingAsync(TimeSpan age, IDictionary<string, DateTimeOffset> resentAt, CancellationToken cancellationToken)
    {
        var now = DateTimeOffset.UtcNow;
        var resent = 0;
        var stillPending = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var pending in catalog.PendingOlderThanAsync(age, cancellationToken))
        {
            var key = $"{pending.Product.Id}/{pending.ContentHash}";
            stillPending.Add(key);
            if (resentAt.TryGetValue(key, out var last) && now - last < age)
                continue;
            using var publishing = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            publishing.CancelAfter(PublishTimeout);
            await bus.Publish(pending, publishing.Token);
            resentAt[key] = now;
            resent++;
        }
        foreach (var gone in resentAt.Keys.Where(k => !stillPending.Contains(k)).ToList())
            resentAt.Remove(gone);
        return resent;
    }
}
