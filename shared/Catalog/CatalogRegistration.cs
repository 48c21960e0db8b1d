using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Platform.Catalog;

public static class CatalogRegistration
{
    /// <summary>The catalog under <paramref name="dataDirectory"/>; every service of a process shares one (the first registration wins).</summary>
    public static IServiceCollection AddProductCatalog(this IServiceCollection services, string dataDirectory)
    {
        services.TryAddSingleton(_ => new ProductCatalog(Path.Combine(dataDirectory, "catalog.db")));
        return services;
    }
}
