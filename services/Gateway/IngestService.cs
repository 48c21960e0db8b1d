using MassTransit;
using Microsoft.Extensions.Logging;
using Platform.Catalog;
using Platform.Contracts;
using Platform.Inference;
using Platform.Inference.Imaging;

namespace Platform.Gateway;

/// <summary>The result of an ingest: the product's id and where it stands.</summary>
public sealed record IngestReceipt(string Id, ProductStatus Status, string ContentHash);

/// <summary>
/// Accepts a product: validates its fields and decodes its image (so bad input is refused at once, before anything
/// is stored), records it durably in the catalog, then hands it to the encoders over the bus. The decoded tensor is
/// kept for an encoder in this process, so the image is not decoded twice.
/// </summary>
public sealed class IngestService(IProductCatalog catalog, ImagePreprocessor images, PreprocessedImageCache preprocessed,
    IPublishEndpoint bus, ILogger<IngestService> logger)
{
    public async Task<IngestReceipt> IngestAsync(ProductInfo product, byte[] image, CancellationToken cancellationToken = default)
    {
        product = ProductValidation.Validate(product);
        // A full decode, not just the header: a truncated file must fail here, not later in the encoder.
        var tensor = images.PreprocessWithInfo(image).Tensor;

        var hash = ContentHash.Compute(product, image);
        // The caller's token is not passed to the write: a cancel mid-statement would leave the caller unsure whether
        // the product was recorded. The store's own command timeout bounds it.
        if (await catalog.RecordIngestAsync(product, image, hash, CancellationToken.None) == IngestOutcome.Unchanged)
            return new IngestReceipt(product.Id, (await catalog.GetAsync(product.Id, CancellationToken.None))?.Status ?? ProductStatus.Pending, hash);
        preprocessed.Add(hash, tensor);
        // Once the catalog holds the product it must reach the encoders even if the caller goes away now (a client
        // that disconnects would otherwise leave it pending until the next restart): the caller's token no longer
        // applies, only a bound of our own on how long the bus may take to accept it.
        using var publishing = new CancellationTokenSource(PublishTimeout);
        await bus.Publish(new IngestProduct(product, hash), publishing.Token);
        return new IngestReceipt(product.Id, ProductStatus.Pending, hash);
    }

    /// <summary>How long handing an accepted product to the bus may take before the ingest fails (it stays pending and is re-sent at start).</summary>
    public static readonly TimeSpan PublishTimeout = TimeSpan.FromSeconds(30);

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
}
