using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Platform.VectorStore.Embedded;
using Platform.VectorStore.Qdrant;

namespace Platform.VectorStore;

/// <summary>
/// Which vector store a process uses, from configuration: <c>VectorStore:Provider</c> = <c>embedded</c> (the default)
/// or <c>qdrant</c>, with <c>VectorStore:Qdrant:Url</c> (the gRPC endpoint) and <c>VectorStore:Qdrant:ApiKey</c>.
/// </summary>
public sealed record VectorStoreSettings(string Provider, Uri? QdrantUrl = null, string? QdrantApiKey = null)
{
    public const string ProviderKey = "VectorStore:Provider";
    public const string QdrantUrlKey = "VectorStore:Qdrant:Url";
    public const string QdrantApiKeyKey = "VectorStore:Qdrant:ApiKey";

    public const string Embedded = "embedded";
    public const string Qdrant = "qdrant";

    /// <summary>Reads and checks the settings; a value that cannot work throws, naming the key and what it accepts.</summary>
    /// <exception cref="InvalidOperationException">An unknown provider, or Qdrant without a usable URL.</exception>
    public static VectorStoreSettings From(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var provider = configuration[ProviderKey]?.Trim();
        if (string.IsNullOrEmpty(provider) || provider.Equals(Embedded, StringComparison.OrdinalIgnoreCase))
            return new VectorStoreSettings(Embedded);
        if (!provider.Equals(Qdrant, StringComparison.OrdinalIgnoreCase))
            throw new InvalidOperationException($"{ProviderKey} is '{provider}'; accepted values are '{Embedded}' (the default) and '{Qdrant}'");

        var url = configuration[QdrantUrlKey]?.Trim();
        if (string.IsNullOrEmpty(url))
            throw new InvalidOperationException($"{ProviderKey} is '{Qdrant}' but {QdrantUrlKey} is not set: give Qdrant's gRPC endpoint, for example http://qdrant:6334");
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            throw new InvalidOperationException($"{QdrantUrlKey} is '{url}', which is not an absolute http:// or https:// URL (for example http://qdrant:6334)");
        var apiKey = configuration[QdrantApiKeyKey];
        return new VectorStoreSettings(Qdrant, uri, string.IsNullOrWhiteSpace(apiKey) ? null : apiKey.Trim());
    }

    // The API key stays out of logs and exception messages that print the settings.
    public override string ToString() =>
        Provider == Qdrant ? $"qdrant at {QdrantUrl}{(QdrantApiKey is null ? "" : " (with an API key)")}" : Embedded;
}

public static class VectorStoreRegistration
{
    /// <summary>
    /// Registers the <see cref="IVectorStore"/> that configuration names (see <see cref="VectorStoreSettings"/>): the
    /// embedded engine under <c><paramref name="dataDirectory"/>/vectors</c>, or Qdrant. The settings are checked
    /// here, so a misconfigured process fails at start-up; the store itself opens on first use. An
    /// <see cref="IVectorStore"/> registered earlier wins.
    /// </summary>
    public static IServiceCollection AddVectorStore(this IServiceCollection services, IConfiguration configuration, string dataDirectory)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(dataDirectory);
        var settings = VectorStoreSettings.From(configuration);
        services.TryAddSingleton(settings);
        if (settings.Provider == VectorStoreSettings.Qdrant)
            services.TryAddSingleton<IVectorStore>(_ => new QdrantVectorStore(settings.QdrantUrl!, settings.QdrantApiKey));
        else
            services.TryAddSingleton<IVectorStore>(_ => EmbeddedVectorStore.Open(Path.Combine(dataDirectory, "vectors")));
        return services;
    }
}
