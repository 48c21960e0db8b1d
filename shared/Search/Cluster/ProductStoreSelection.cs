using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Platform.VectorStore;

namespace Platform.Search.Cluster;

public static class ProductStoreSelection
{
    public const string Cluster = "cluster";

    /// <summary>True when this process's vector store is another silo's (<c>VectorStore:Provider</c> = <c>cluster</c>), so it must join the cluster.</summary>
    public static bool UsesClusterStore(IConfiguration configuration) =>
        string.Equals(configuration[VectorStoreSettings.ProviderKey]?.Trim(), Cluster, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The vector store named by <c>VectorStore:Provider</c>: <c>embedded</c> (default, under
    /// <paramref name="dataDirectory"/>/vectors), <c>qdrant</c> (<c>VectorStore:Qdrant:Url</c>, gRPC), or <c>cluster</c> (the embedded store a retrieval silo holds, through
    /// <see cref="IVectorStoreGrain"/>: the indexer's choice in a distributed deployment without Qdrant). A process with
    /// its own store also serves it to the cluster when it hosts a silo.
    /// </summary>
    public static IServiceCollection AddProductVectorStore(this IServiceCollection services, IConfiguration configuration, string dataDirectory)
    {
        if (UsesClusterStore(configuration))
            return services.AddClusterVectorStore();
        // Decided on the value, so a refusal names all three choices (the store's own settings know only two).
        var provider = configuration[VectorStoreSettings.ProviderKey]?.Trim();
        if (!string.IsNullOrEmpty(provider)
            && !provider.Equals(VectorStoreSettings.Embedded, StringComparison.OrdinalIgnoreCase)
            && !provider.Equals(VectorStoreSettings.Qdrant, StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"{VectorStoreSettings.ProviderKey} is '{provider}'; accepted values are '{VectorStoreSettings.Embedded}' " +
                $"(the default), '{VectorStoreSettings.Qdrant}' and '{Cluster}' (the embedded store a retrieval silo holds, reached through the cluster)");
        }
        return services.AddVectorStore(configuration, dataDirectory);
    }
}
