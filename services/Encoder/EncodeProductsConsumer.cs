using MassTransit;
using Microsoft.Extensions.Logging;
using Platform.Catalog;
using Platform.Contracts;
using Platform.Contracts.Grains;
using Platform.Inference;
using Platform.ServiceDefaults.Cluster;

namespace Platform.Encoder;

/// <summary>
/// Encodes ingested products in batches through an encoder grain (which may gather them with other callers' work).
/// Images come from the catalog (messages carry none), or as tensors the gateway of this process already
/// preprocessed. Idempotent by product id and content hash: content already indexed, or no longer current, is skipped.
/// </summary>
public sealed class EncodeProductsConsumer(EncoderDirectory encoders, ProductCatalog catalog, PreprocessedImageCache preprocessed,
    ILogger<EncodeProductsConsumer> logger) : IConsumer<Batch<IngestProduct>>
{
    public async Task Consume(ConsumeContext<Batch<IngestProduct>> context)
    {
        var work = new List<IngestProduct>(context.Message.Length);
        var images = new List<ImageInput>(context.Message.Length);
        var seen = new HashSet<(string, string)>();
        foreach (var item in context.Message)
        {
            var (id, hash) = (item.Message.Product.Id, item.Message.ContentHash);
            if (!seen.Add((id, hash)))
                continue;
            // One catalog look-up per message: whether it still needs encoding, and (unless this process's gateway
            // left the decoded tensor) its image. Null: indexed already, or replaced since (the newer ingest has its
            // own message).
            var image = preprocessed.TryTake(hash, out var tensor)
                ? catalog.NeedsEncoding(id, hash) ? ImageInput.FromTensor(tensor) : null
                : catalog.ImageToEncode(id, hash) is { } bytes ? ImageInput.FromBytes(bytes) : null;
            if (image is null)
                continue;
            images.Add(image);
            work.Add(item.Message);
        }
        if (work.Count == 0)
            return;

        var encoder = encoders.Pick(EncodePriority.Ingest);
        var describing = encoder.Describe();
        var imageEncoding = encoder.EncodeImages([.. images], EncodePriority.Ingest);
        var textEncoding = encoder.EncodeTexts([.. work.Select(p => ProductText.Of(p.Product))], EncodePriority.Ingest);
        var (model, imageVectors, textVectors) = (await describing, await imageEncoding, await textEncoding);
        logger.LogDebug("Encoded a batch of {Count} products on {Device}", work.Count, model.Device);

        for (var i = 0; i < work.Count; i++)
        {
            var product = work[i];
            if (imageVectors[i].Vector is { } imageVector)
                await context.Publish(new ProductEmbedded(product.Product, product.ContentHash, model.Model, imageVector, textVectors[i]));
            else
                await context.Publish(new ProductIngestFailed(product.Product.Id, product.ContentHash, $"image rejected: {imageVectors[i].Rejected}"));
        }
    }
}

/// <summary>Transport policy for the encoder: batches of up to 32 products, gathered for at most 20 ms.</summary>
public sealed class EncodeProductsConsumerDefinition : ConsumerDefinition<EncodeProductsConsumer>
{
    public const int MaxBatch = 32;

    public EncodeProductsConsumerDefinition() => EndpointName = "encode-products";

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<EncodeProductsConsumer> consumerConfigurator, IRegistrationContext context)
    {
        endpointConfigurator.UseMessageRetry(r => r.Interval(3, TimeSpan.FromMilliseconds(200)));
        consumerConfigurator.Options<BatchOptions>(options => options
            .SetMessageLimit(MaxBatch)
            .SetTimeLimit(TimeSpan.FromMilliseconds(20))
            .SetConcurrencyLimit(2));
    }
}
