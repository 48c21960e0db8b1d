using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Platform.Inference;
using Platform.Search.Cluster;
using Platform.VectorStore;
using Platform.ServiceDefaults;
using Platform.ServiceDefaults.Cluster;

namespace Platform.Indexer;

/// <summary>The indexer as a process of its own (its Program.cs, or <c>platform serve --role indexer</c>), from configuration.</summary>
public static class IndexerRole
{
    /// <summary>
    /// Consumes embeddings from the bus into the vector store named by <c>VectorStore:Provider</c>; with <c>cluster</c>
    /// (the retrieval silo's embedded store) it joins the cluster as an Orleans client. Its start-up check of the
    /// store runs before its consumers start.
    /// </summary>
    public static WebApplicationBuilder AddIndexerRole(this WebApplicationBuilder builder)
    {
        var settings = PlatformSettings.From(builder.Configuration);
        builder.AddServiceDefaults("indexer");
        if (ProductStoreSelection.UsesClusterStore(builder.Configuration))
            builder.AddPlatformClient(SiloSettings.From(builder.Configuration));
        builder.Services.AddProductVectorStore(builder.Configuration, settings.DataDirectory);
        builder.AddIndexerService(new IndexerServiceOptions(settings.DataDirectory, ModelPackage.Describe(settings.RequireModel()).EmbeddingDim));
        // Registered before the bus, so hosts start it (and wait for it) before any message is consumed.
        builder.Services.AddHostedService<IndexStartupService>();
        builder.AddPlatformBus(bus => bus.AddIndexerConsumers());
        return builder;
    }

    public static WebApplication MapIndexerRole(this WebApplication app)
    {
        app.MapDefaultEndpoints();
        return app;
    }
}

/// <summary>Runs the start-up check, waiting for a store that is not reachable yet (the retrieval silo or Qdrant still starting).</summary>
internal sealed class IndexStartupService(IndexStartup startup, ILogger<IndexStartupService> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await startup.RunAsync(cancellationToken);
                return;
            }
            catch (VectorStoreException e) when (e.Kind == VectorStoreErrorKind.Unavailable)
            {
                if (attempt == 1 || attempt % 30 == 0)
                    logger.LogWarning("The vector store is not reachable yet ({Error}); waiting for it before consuming", e.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
