using MassTransit;
using Microsoft.Extensions.Logging;
using Platform.Catalog;
using Platform.Contracts;
using Platform.Inference;

namespace Platform.Encoder;

/// <summary>
/// Encodes ingested products in batches: one forward of each tower per batch. Idempotent by product id and content
/// hash: content that is already indexed, or no longer current, is skipped.
/// </summary>
public sealed class EncodeProductsConsumer(EncoderHost host, ProductCatalog catalog, ILogger<EncodeProductsConsumer> logger)
    : IConsumer<Batch<IngestProduct>>
{
    public async Task Consume(ConsumeContext<Batch<IngestProduct>> context)
    {
        var encoder = await host.GetAsync(context.CancellationToken);
        var candidates = new List<IngestProduct>(context.Message.Length);
        var seen = new HashSet<(string, string)>();
        foreach (var item in context.Message)
        {
            var message = item.Message;
            if (seen.Add((message.Product.Id, message.ContentHash)) && catalog.NeedsEncoding(message.Product.Id, message.ContentHash))
                candidates.Add(message);
        }

        var preprocessed = encoder.PreprocessImages(candidates.ConvertAll(c => c.Image));
        var work = new List<IngestProduct>(candidates.Count);
        var tensors = new List<float[]>(candidates.Count);
        for (var i = 0; i < candidates.Count; i++)
        {
            if (preprocessed[i].Tensor is { } tensor)
            {
                work.Add(candidates[i]);
                tensors.Add(tensor);
            }
            else
            {
                await context.Publish(new ProductIngestFailed(candidates[i].Product.Id, candidates[i].ContentHash, $"image rejected: {preprocessed[i].Error!.Message}"));
            }
        }
        if (work.Count == 0)
            return;

        var images = encoder.EncodePreprocessedImages(tensors);
        var texts = encoder.EncodeTexts(work.ConvertAll(p => ProductText.Of(p.Product)));
        logger.LogDebug("Encoded a batch of {Count} products on {Device}", work.Count, encoder.Device);
        for (var i = 0; i < work.Count; i++)
            await context.Publish(new ProductEmbedded(work[i].Product, work[i].ContentHash, encoder.Package.Name, images[i], texts[i]));
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
            .SetConcurrencyLimit(1));
    }
}
