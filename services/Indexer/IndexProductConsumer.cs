using MassTransit;
using Microsoft.Extensions.Logging;
using Platform.Catalog;
using Platform.Contracts;
using Platform.Search;

namespace Platform.Indexer;

/// <summary>
/// Writes embedded products into the index. Idempotent: an upsert by product id, and embeddings of content that is
/// no longer the product's current content (a newer ingest overtook it) are dropped.
/// </summary>
public sealed class IndexProductConsumer(ProductIndex index, IProductCatalog catalog, ILogger<IndexProductConsumer> logger)
    : IConsumer<ProductEmbedded>
{
    public async Task Consume(ConsumeContext<ProductEmbedded> context)
    {
        var message = context.Message;
        var record = await catalog.GetAsync(message.Product.Id, context.CancellationToken);
        if (record?.ContentHash != message.ContentHash)
        {
            logger.LogDebug("Dropping stale embeddings of {ProductId}", message.Product.Id);
            return;
        }
        await index.UpsertAsync(message, context.CancellationToken);
        if (await catalog.MarkIndexedAsync(message.Product.Id, message.ContentHash, context.CancellationToken))
        {
            // From the ingest's acknowledgement (the catalog's timestamp of the accepted content) to searchable.
            if (record.Status == ProductStatus.Pending)
                IndexerTelemetry.IngestLag.Record((DateTimeOffset.UtcNow - record.UpdatedAt).TotalSeconds);
            await context.Publish(new ProductIndexed(message.Product.Id, message.ContentHash));
        }
    }
}

/// <summary>Records why a product could not be indexed, so the merchant can see it on the product.</summary>
public sealed class RecordIngestFailureConsumer(IProductCatalog catalog, ILogger<RecordIngestFailureConsumer> logger)
    : IConsumer<ProductIngestFailed>
{
    public async Task Consume(ConsumeContext<ProductIngestFailed> context)
    {
        var message = context.Message;
        if (await catalog.MarkFailedAsync(message.ProductId, message.ContentHash, message.Reason, context.CancellationToken))
            logger.LogWarning("Product {ProductId} failed: {Reason}", message.ProductId, message.Reason);
    }
}

public sealed class IndexProductConsumerDefinition : ConsumerDefinition<IndexProductConsumer>
{
    public IndexProductConsumerDefinition() => EndpointName = "index-products";

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<IndexProductConsumer> consumerConfigurator, IRegistrationContext context) =>
        endpointConfigurator.UseMessageRetry(r => r.Interval(5, TimeSpan.FromMilliseconds(200)));
}

/// <summary>
/// When encoding keeps failing after retries (a model that cannot load, a device error), the product is marked
/// failed with the error, rather than left pending with no word of why.
/// </summary>
public sealed class RecordEncodeFaultConsumer(IProductCatalog catalog, ILogger<RecordEncodeFaultConsumer> logger)
    : IConsumer<Fault<IngestProduct>>
{
    public async Task Consume(ConsumeContext<Fault<IngestProduct>> context)
    {
        var message = context.Message.Message;
        var reason = context.Message.Exceptions.FirstOrDefault()?.Message ?? "unknown error";
        if (await catalog.MarkFailedAsync(message.Product.Id, message.ContentHash, $"encoding failed: {reason}", context.CancellationToken))
            logger.LogError("Encoding {ProductId} failed: {Reason}", message.Product.Id, reason);
    }
}

/// <summary>The indexer's metrics.</summary>
public static class IndexerTelemetry
{
    private static readonly System.Diagnostics.Metrics.Meter Meter = new("Platform.Indexer");

    internal static readonly System.Diagnostics.Metrics.Histogram<double> IngestLag =
        Meter.CreateHistogram<double>("platform.ingest.lag", "s", "Time from an ingest's acknowledgement until the product is searchable");
}
