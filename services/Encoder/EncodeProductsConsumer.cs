using MassTransit;
using Microsoft.Extensions.Logging;
using Platform.Catalog;
using Platform.Contracts;
using Platform.Contracts.Grains;
using Platform.Inference;
using Platform.ServiceDefaults;
using Platform.ServiceDefaults.Cluster;

namespace Platform.Encoder;

/// <summary>
/// Encodes ingested products in batches through an encoder grain (which may gather them with other callers' work).
/// Images come from the catalog (messages carry none), or as tensors the gateway of this process already
/// preprocessed. Idempotent by product id and content hash: content already indexed, or no longer current, is skipped.
/// </summary>
public sealed class EncodeProductsConsumer(EncoderDirectory encoders, IProductCatalog catalog, PreprocessedImageCache preprocessed,
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
                ? await catalog.NeedsEncodingAsync(id, hash, context.CancellationToken) ? ImageInput.FromTensor(tensor) : null
                : await catalog.ImageToEncodeAsync(id, hash, context.CancellationToken) is { } bytes ? ImageInput.FromBytes(bytes) : null;
            if (image is null)
                continue;
            images.Add(image);
            work.Add(item.Message);
        }
        if (work.Count == 0)
            return;

        if (await EncodeAsync(images, work, context.CancellationToken) is not var (model, imageVectors, textVectors))
        {
            // No encoder answered for as long as a silo takes to be declared dead and its work to move: hand the
            // products back to the queue (behind the others) rather than fail them; this message is done with.
            foreach (var product in work)
                await context.Publish(product);
            logger.LogWarning("No encoder could take a batch of {Count} products for {Seconds} s; sent back to the queue", work.Count, TransientWindow.TotalSeconds);
            return;
        }
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


    /// <summary>How long a batch keeps trying other encoders while the cluster is failing over (a killed silo is
    /// declared dead in a few seconds; see SiloHosting's membership settings).</summary>
    internal static readonly TimeSpan TransientWindow = TimeSpan.FromSeconds(30);

    /// <summary>
    /// One forward per tower on an encoder of the cluster. An encoder that cannot be reached (its silo died or is
    /// leaving) is not a fault of the products: another is picked, with growing pauses, for up to
    /// <see cref="TransientWindow"/>; null when none answered in that time. Other errors propagate (the retry policy,
    /// then a fault, which marks the products failed with the reason).
    /// </summary>
    private async Task<(EncoderDescription, ImageEmbedding[], float[][])?> EncodeAsync(List<ImageInput> images, List<IngestProduct> work, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + TransientWindow;
        var pause = TimeSpan.FromMilliseconds(200);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var encoder = encoders.Pick(EncodePriority.Ingest);
                var describing = encoder.Describe();
                var imageEncoding = encoder.EncodeImages([.. images], EncodePriority.Ingest);
                var texts = ProductText.Batch.Of(work.Select(p => p.Product));
                var textEncoding = encoder.EncodeTexts([.. texts.Texts], EncodePriority.Ingest);
                return (await describing, await imageEncoding, texts.Vectors(await textEncoding));
            }
            catch (Exception e) when (IsTransient(e) && DateTime.UtcNow + pause < deadline)
            {
                logger.LogInformation("Encoder unavailable (attempt {Attempt}: {Error}); trying again in {Pause} ms", attempt, e.Message, pause.TotalMilliseconds);
                await Task.Delay(pause, cancellationToken);
                pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, TimeSpan.FromSeconds(4).Ticks));
            }
            catch (Exception e) when (IsTransient(e))
            {
                return null;
            }
        }
    }

    /// <summary>The cluster, not the products: a silo gone or unreachable, no encoder silo yet, a call that timed out.</summary>
    internal static bool IsTransient(Exception e) => e is Orleans.Runtime.OrleansException or TimeoutException;
}

/// <summary>Transport policy for the encoder: batches of up to 32 products, gathered for at most 20 ms.</summary>
public sealed class EncodeProductsConsumerDefinition : ConsumerDefinition<EncodeProductsConsumer>
{
    public const int MaxBatch = 32;

    private readonly int _concurrency;

    /// <param name="devices">This process's inference devices.</param>
    /// <param name="bus">How many batches each device works on at once (<see cref="BusSettings.ConcurrencyPerDevice"/>);
    /// the defaults when the host registered no bus settings (a test harness).</param>
    public EncodeProductsConsumerDefinition(EncoderDevices devices, BusSettings? bus = null)
    {
        EndpointName = "encode-products";
        // Bounded per device: one process takes only as much of the shared queue as its devices can work on, and the
        // rest stays for the other encoder processes (competing consumers).
        _concurrency = Math.Max(1, devices.Devices.Count) * (bus ?? new BusSettings()).ConcurrencyPerDevice;
    }

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<EncodeProductsConsumer> consumerConfigurator, IRegistrationContext context)
    {
        endpointConfigurator.UseMessageRetry(r => r.Interval(3, TimeSpan.FromMilliseconds(200)));
        // A batch is only as large as the messages the broker hands over unacknowledged.
        endpointConfigurator.PrefetchCount = MaxBatch * _concurrency;
        consumerConfigurator.Options<BatchOptions>(options => options
            .SetMessageLimit(MaxBatch)
            .SetTimeLimit(TimeSpan.FromMilliseconds(20))
            .SetConcurrencyLimit(_concurrency));
    }
}
