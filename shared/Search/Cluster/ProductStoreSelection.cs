using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Platform.VectorStore;
using Platform.VectorStore.Embedded;

namespace Platform.Search.Cluster;

public static class ProductStoreSelection
{
    public const string Cluster = "cluster";

    /// <summary>True when this process's vector store is another silo's (<c>VectorStore:Provider</c> = <c>cluster</c>), so it must join the cluster.</summary>
    public static bool UsesClusterStore(IConfiguration configuration) =>
        string.Equals(configuration["VectorStore:Provider"], Cluster, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The vector store named by <c>VectorStore:Provider</c>: <c>embedded</c> (default, under
    /// <paramref name="dataDirectory"/>/vectors), or <c>cluster</c> (the embedded store a retrieval silo holds, through
    /// <see cref="IVectorStoreGrain"/>: the indexer's choice in a distributed deployment without Qdrant). A process with
    /// its own store also serves it to the cluster when it hosts a silo.
    /// </summary>
    public static IServiceCollection AddProductVectorStore(this IServiceCollection services, IConfiguration configuration, string dataDirectory)
    {
        var provider = configuration["VectorStore:Provider"] ?? "embedded";
        if (string.Equals(provider, Cluster, StringComparison.OrdinalIgnoreCase))
            return services.AddClusterVectorStore();
        if (!string.Equals(provider, "embedded", StringComparison.OrdinalIgnoreCase))
            throw new InvalidOperationException($"VectorStore:Provider '{provider}' is not known; use 'embedded' or '{Cluster}'.");
        services.AddVectorStoreSerialization();
        services.TryAddSingleton<IVectorStore>(_ => EmbeddedVectorStore.Open(Path.Combine(dataDirectory, "vectors")));
        return services;
    }
}
