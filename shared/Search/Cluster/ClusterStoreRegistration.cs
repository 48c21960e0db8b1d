using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Platform.VectorStore;

namespace Platform.Search.Cluster;

public static class ClusterStoreRegistration
{
    /// <summary>The store this process writes and reads is another silo's, reached through <see cref="IVectorStoreGrain"/>.</summary>
    public static IServiceCollection AddClusterVectorStore(this IServiceCollection services)
    {
        services.TryAddSingleton<IVectorStore, ClusterVectorStore>();
        return services;
    }
}
