using System.Net;

namespace Platform.Integration.Tests;

/// <summary>A crash (kill -9) loses nothing that was acknowledged: accepted products get indexed after a restart.</summary>
public sealed class RestartTests
{
    [Fact]
    public async Task Products_acknowledged_before_a_kill_are_indexed_after_restart()
    {
        var data = Directory.CreateTempSubdirectory("platform-crash-").FullName;
        try
        {
            var products = Fixtures.Products.Take(12).ToList();
            await using (var first = await PlatformProcess.StartAsync(data))
            {
                await IngestAsync(first.Client, products);
                await first.KillHardAsync(); // straight after the last acknowledgement: some are still in flight
            }

            await using var second = await PlatformProcess.StartAsync(data);
            await Fixtures.WaitIndexedAsync(second.Client, products.Select(p => p.Product.Id), TimeSpan.FromSeconds(120));
            foreach (var (product, imagePath) in products)
            {
                var hits = await Fixtures.SearchImageAsync(second.Client, await File.ReadAllBytesAsync(imagePath), Fixtures.ContentTypeOf(imagePath), k: 1);
                Assert.Equal(product.Id, hits.Single().Id);
            }

            // And once more, after everything was indexed: the store and the lexical index come back from disk.
            await second.KillHardAsync();
            await using var third = await PlatformProcess.StartAsync(data);
            var (last, _) = products[^1];
            var byTitle = await Fixtures.SearchTextAsync(third.Client, last.Title, k: 3);
            Assert.Equal(last.Id, byTitle[0].Id);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    [Fact]
    public async Task Products_whose_vectors_were_lost_are_encoded_again_at_start()
    {
        var data = Directory.CreateTempSubdirectory("platform-lost-vectors-").FullName;
        try
        {
            var products = Fixtures.Products.Take(6).ToList();
            await using (var first = await PlatformProcess.StartAsync(data))
            {
                await IngestAsync(first.Client, products);
                await Fixtures.WaitIndexedAsync(first.Client, products.Select(p => p.Product.Id), TimeSpan.FromSeconds(120));
            }

            // The catalog still says "indexed", but the vector store is gone (a lost disk, an operator's rm -rf).
            Directory.Delete(Path.Combine(data, "vectors"), recursive: true);

            await using var second = await PlatformProcess.StartAsync(data);
            await Fixtures.WaitIndexedAsync(second.Client, products.Select(p => p.Product.Id), TimeSpan.FromSeconds(120));
            foreach (var (product, imagePath) in products)
            {
                var hits = await Fixtures.SearchImageAsync(second.Client, await File.ReadAllBytesAsync(imagePath), Fixtures.ContentTypeOf(imagePath), k: 1);
                Assert.Equal(product.Id, hits.Single().Id);
            }
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    private static async Task IngestAsync(HttpClient client, IEnumerable<(Platform.Contracts.ProductInfo Product, string ImagePath)> products)
    {
        foreach (var (product, imagePath) in products)
        {
            using var response = await Fixtures.PostJsonAsync(client, product, await File.ReadAllBytesAsync(imagePath));
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        }
    }
}
