using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Platform.Inference;
using Platform.Search.Cluster;
using Platform.ServiceDefaults;
using Platform.ServiceDefaults.Cluster;

namespace Platform.Retrieval;

/// <summary>The retrieval service as a process of its own (its Program.cs, or <c>platform serve --role retrieval</c>), from configuration.</summary>
public static class RetrievalRole
{
    /// <summary>
    /// A silo without accelerators hosting retrieval grains over the vector store named by <c>VectorStore:Provider</c>.
    /// With the embedded engine this silo holds the store and serves it to the cluster (the indexer writes through it).
    /// </summary>
    public static WebApplicationBuilder AddRetrievalRole(this WebApplicationBuilder builder)
    {
        var settings = PlatformSettings.From(builder.Configuration);
        builder.AddServiceDefaults("retrieval");
        builder.AddPlatformSilo(SiloSettings.From(builder.Configuration) with
        {
            Accelerators = [],
            // The retrieval grains, and the vector store this silo serves to the cluster when it holds one.
            GrainAssemblies = [typeof(RetrievalGrain).Assembly, typeof(IVectorStoreGrain).Assembly],
        });
        builder.Services.AddProductVectorStore(builder.Configuration, settings.DataDirectory);
        var model = settings.RequireModel();
        builder.AddRetrievalService(new RetrievalServiceOptions(settings.DataDirectory, ModelPackage.Describe(model).EmbeddingDim)
        {
            Fusion = FusionOptions.ForModel(model),
        });
        return builder;
    }

    public static WebApplication MapRetrievalRole(this WebApplication app)
    {
        app.MapDefaultEndpoints();
        app.MapPlatformDashboard();
        return app;
    }
}
