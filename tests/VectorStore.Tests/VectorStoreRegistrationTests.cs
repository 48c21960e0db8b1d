using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Platform.VectorStore.Embedded;
using Platform.VectorStore.Qdrant;

namespace Platform.VectorStore.Tests;

/// <summary>Which store <c>VectorStore:*</c> configuration selects, and what a wrong setting says.</summary>
public sealed class VectorStoreRegistrationTests
{
    private static IConfiguration Config(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build();

    [Fact]
    public void Without_settings_the_embedded_store_opens_under_the_data_directory()
    {
        var data = Path.Combine(Path.GetTempPath(), $"vs-reg-{Guid.NewGuid():N}");
        try
        {
            using (var services = new ServiceCollection().AddVectorStore(Config(), data).BuildServiceProvider())
            {
                Assert.IsType<EmbeddedVectorStore>(services.GetRequiredService<IVectorStore>());
                Assert.True(Directory.Exists(Path.Combine(data, "vectors")), "the embedded store should live in <data>/vectors");
                Assert.Equal(VectorStoreSettings.Embedded, services.GetRequiredService<VectorStoreSettings>().Provider);
            }
        }
        finally
        {
            if (Directory.Exists(data))
                Directory.Delete(data, recursive: true);
        }
    }

    [Fact]
    public void Provider_qdrant_with_a_url_selects_the_qdrant_store()
    {
        var config = Config(("VectorStore:Provider", "Qdrant"), ("VectorStore:Qdrant:Url", "http://qdrant:6334"), ("VectorStore:Qdrant:ApiKey", "k"));
        using var services = new ServiceCollection().AddVectorStore(config, "/nonexistent").BuildServiceProvider();

        var store = Assert.IsType<QdrantVectorStore>(services.GetRequiredService<IVectorStore>());
        Assert.Equal("http://qdrant:6334", store.Address);
        var settings = services.GetRequiredService<VectorStoreSettings>();
        Assert.Equal(("qdrant", "k"), (settings.Provider, settings.QdrantApiKey));
        Assert.DoesNotContain("k)", settings.ToString().Replace("key)", "", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_provider_says_which_values_are_accepted()
    {
        var e = Assert.Throws<InvalidOperationException>(() => VectorStoreSettings.From(Config(("VectorStore:Provider", "milvus"))));
        Assert.Contains("VectorStore:Provider", e.Message, StringComparison.Ordinal);
        Assert.Contains("'milvus'", e.Message, StringComparison.Ordinal);
        Assert.Contains("'embedded'", e.Message, StringComparison.Ordinal);
        Assert.Contains("'qdrant'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Qdrant_without_a_url_names_the_missing_key()
    {
        var e = Assert.Throws<InvalidOperationException>(() => new ServiceCollection().AddVectorStore(Config(("VectorStore:Provider", "qdrant")), "/tmp"));
        Assert.Contains("VectorStore:Qdrant:Url", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("qdrant:6334")]
    [InlineData("not a url")]
    [InlineData("ftp://qdrant:6334")]
    public void A_url_that_is_not_absolute_http_is_refused(string url)
    {
        var e = Assert.Throws<InvalidOperationException>(() => VectorStoreSettings.From(Config(("VectorStore:Provider", "qdrant"), ("VectorStore:Qdrant:Url", url))));
        Assert.Contains("VectorStore:Qdrant:Url", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_store_registered_earlier_wins()
    {
        var data = Path.Combine(Path.GetTempPath(), $"vs-reg-{Guid.NewGuid():N}");
        using var earlier = new QdrantVectorStore(new Uri("http://elsewhere:6334"));
        var services = new ServiceCollection().AddSingleton<IVectorStore>(earlier).AddVectorStore(Config(), data);
        using var provider = services.BuildServiceProvider();
        Assert.Same(earlier, provider.GetRequiredService<IVectorStore>());
        Assert.False(Directory.Exists(data));
    }
}
