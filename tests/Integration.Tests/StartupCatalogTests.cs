using System.Net.Http.Json;
using System.Text.Json;

namespace Platform.Integration.Tests;

/// <summary>A catalog loaded at start-up: the process reports ready only once every product in it is searchable.</summary>
public sealed class StartupCatalogTests
{
    [Fact]
    public async Task Serve_with_a_catalog_is_ready_only_once_the_catalog_is_searchable()
    {
        var data = Directory.CreateTempSubdirectory("platform-startup-").FullName;
        try
        {
            await using var server = await PlatformProcess.StartAsync(data, "--catalog", Fixtures.CatalogPath);
            // StartAsync returned on the first 200 from /health/ready: nothing may still be pending now.
            foreach (var (product, _) in Fixtures.Products)
                Assert.Equal("indexed", await Fixtures.StatusAsync(server.Client, product.Id));
            var ready = await server.Client.GetFromJsonAsync<JsonElement>("/health/ready");
            Assert.Contains($"{Fixtures.Products.Count} indexed", ready.GetProperty("checks").GetProperty("catalog-load").GetProperty("description").GetString());
            var (first, imagePath) = Fixtures.Products[0];
            var hits = await Fixtures.SearchImageAsync(server.Client, await File.ReadAllBytesAsync(imagePath), Fixtures.ContentTypeOf(imagePath), k: 1);
            Assert.Equal(first.Id, hits.Single().Id);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }
}
