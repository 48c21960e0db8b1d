using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Platform.VectorStore;
using Platform.VectorStore.Embedded;

namespace Platform.Search;

public static class SearchRegistration
{
    /// <summary>
    /// The product index over the embedded vector store under <paramref name="dataDirectory"/>, for a model of
    /// <paramref name="dimension"/>. The indexer and retrieval of one process share it (the first registration wins).
    /// </summary>
    public static IServiceCollection AddProductIndex(this IServiceCollection services, string dataDirectory, int dimension)
    {
        services.TryAddSingleton<IVectorStore>(_ => EmbeddedVectorStore.Open(Path.Combine(dataDirectory, "vectors")));
        services.TryAddSingleton(new ProductIndex.Settings(dimension));
        services.TryAddSingleton<ProductIndex>();
        return services;
    }
}
