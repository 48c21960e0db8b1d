using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Platform.Catalog;
using Platform.Retrieval.Behaviour;
using Platform.Search;

namespace Platform.Retrieval;

public sealed record RetrievalServiceOptions(string DataDirectory, int Dimension)
{
    public FusionOptions Fusion { get; init; } = new();

    public RecommendOptions Recommend { get; init; } = new();
}

public static class RetrievalRegistration
{
    /// <summary>The retrieval service: the product index it reads, fusion, and query encodes through encoder grains.</summary>
    public static IHostApplicationBuilder AddRetrievalService(this IHostApplicationBuilder builder, RetrievalServiceOptions options)
    {
        builder.Services.AddProductIndex(options.DataDirectory, options.Dimension);
        builder.Services.AddSingleton(options.Fusion);
        builder.Services.AddSingleton<IQueryEncoder, GrainQueryEncoder>();
        builder.Services.AddSingleton<SearchService>();
        // Shopper grains and the recommendation APIs read and write the interaction log beside the catalog.
        builder.Services.AddProductCatalog(builder.Configuration, options.DataDirectory);
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(options.Recommend);
        builder.Services.AddSingleton<Recommender>();
        return builder;
    }
}
