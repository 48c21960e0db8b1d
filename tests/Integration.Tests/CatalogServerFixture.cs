namespace Platform.Integration.Tests;

/// <summary>One platform process with the whole fixture catalog ingested over HTTP (half as JSON, half multipart).</summary>
public sealed class CatalogServerFixture : IAsyncLifetime
{
    private readonly string _data = Directory.CreateTempSubdirectory("platform-it-").FullName;

    public PlatformProcess Server { get; private set; } = null!;

    public HttpClient Client => Server.Client;

    public async ValueTask InitializeAsync()
    {
        Server = await PlatformProcess.StartAsync(_data);
        var index = 0;
        foreach (var (product, imagePath) in Fixtures.Products)
        {
            var image = await File.ReadAllBytesAsync(imagePath);
            using var response = index++ % 2 == 0
                ? await Fixtures.PostJsonAsync(Client, product, image)
                : await Fixtures.PostMultipartAsync(Client, product, image, Path.GetFileName(imagePath));
            Assert.True(response.StatusCode == System.Net.HttpStatusCode.Accepted,
                $"ingest of {product.Id} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
        await Fixtures.WaitIndexedAsync(Client, Fixtures.Products.Select(p => p.Product.Id), TimeSpan.FromSeconds(120));
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        Directory.Delete(_data, recursive: true);
    }
}

[CollectionDefinition(Name)]
public sealed class CatalogCollection : ICollectionFixture<CatalogServerFixture>
{
    public const string Name = "catalog server";
}
