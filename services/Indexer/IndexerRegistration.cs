using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Platform.Catalog;
using Platform.Search;

namespace Platform.Indexer;

public sealed record IndexerServiceOptions(string DataDirectory, int Dimension);

public static class IndexerRegistration
{
    /// <summary>The indexer service: the product index it writes, the catalog whose status it keeps, and its start-up check.</summary>
    public static IHostApplicationBuilder AddIndexerService(this IHostApplicationBuilder builder, IndexerServiceOptions options)
    {
        builder.Services.AddProductCatalog(builder.Configuration, options.DataDirectory);
        builder.Services.AddProductIndex(options.DataDirectory, options.Dimension);
        builder.Services.AddSingleton<IndexStartup>();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddHostedService<InteractionSweep>();
        return builder;
    }

    /// <summary>The indexer's consumers, for the host's one bus registration.</summary>
    public static void AddIndexerConsumers(this IBusRegistrationConfigurator bus)
    {
        bus.AddConsumer<IndexProductConsumer, IndexProductConsumerDefinition>();
        bus.AddConsumer<RecordIngestFailureConsumer>();
        bus.AddConsumer<RecordEncodeFaultConsumer>();
        bus.AddConsumer<AggregateInteractionsConsumer, InteractionBatchDefinition>();
    }
}

/// <summary>
/// What the index needs before ingest work is re-sent at start: the collection for the model in use, and products the
/// catalog calls indexed but the store lacks (a store lost or replaced, or a collection remade for another schema: a
/// model of another dimension, or new lexical spaces) put back to pending, to be encoded again.
/// </summary>
public sealed class IndexStartup(ProductIndex index, IProductCatalog catalog, ILogger<IndexStartup> logger)
{
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        await index.EnsureCollectionAsync(cancellationToken);
        var present = await index.StoredIdsAsync(cancellationToken);
        var lost = (await catalog.IndexedIdsAsync(cancellationToken)).Where(id => !present.Contains(id)).ToList();
        if (lost.Count == 0)
            return;
        var requeued = await catalog.MarkPendingAsync(lost, cancellationToken);
        logger.LogWarning("{Count} products marked indexed are not in the vector store{Why}; encoding them again",
            requeued, index.Recreated ? " (its collection was remade for another schema: a model of another dimension, or new lexical spaces)" : "");
    }
}
