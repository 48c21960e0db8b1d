using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Platform.Integration.Tests;

[Collection(CatalogCollection.Name)]
public sealed class SearchTests(CatalogServerFixture fixture)
{
    private HttpClient Client => fixture.Client;

    [Fact]
    public void The_fixture_catalog_has_at_least_twenty_products()
    {
        Assert.True(Fixtures.Products.Count >= 20, $"only {Fixtures.Products.Count} fixture products");
    }

    [Fact]
    public async Task Search_by_own_image_returns_each_product_first()
    {
        var misses = new List<string>();
        foreach (var (product, imagePath) in Fixtures.Products)
        {
            var hits = await Fixtures.SearchImageAsync(Client, await File.ReadAllBytesAsync(imagePath), Fixtures.ContentTypeOf(imagePath), k: 5);
            if (hits.Count == 0 || hits[0].Id != product.Id)
                misses.Add($"{product.Id} → [{string.Join(", ", hits.Select(h => $"{h.Id}:{h.Score:F3}"))}]");
            else
                Assert.InRange(hits[0].Score, 0.999, 1.001); // the same image: cosine similarity 1
        }
        Assert.True(misses.Count == 0, "not first by its own image: " + string.Join("; ", misses));
    }

    [Fact]
    public async Task Search_by_full_title_returns_the_product_first()
    {
        var misses = new List<string>();
        foreach (var (product, _) in Fixtures.Products)
        {
            var hits = await Fixtures.SearchTextAsync(Client, product.Title, k: 5);
            if (hits.Count == 0 || hits[0].Id != product.Id)
                misses.Add($"'{product.Title}' → [{string.Join(", ", hits.Select(h => h.Id))}]");
        }
        Assert.True(misses.Count == 0, "not first by its title: " + string.Join("; ", misses));
    }

    [Fact]
    public async Task Search_by_a_title_word_finds_the_products_with_that_word()
    {
        // Every title word that appears in exactly one fixture title must find that product first.
        var owners = Fixtures.Products
            .SelectMany(p => p.Product.Title.ToLowerInvariant().Split(' ', StringSplitOptions.RemoveEmptyEntries).Distinct().Select(w => (Word: w, p.Product.Id)))
            .GroupBy(x => x.Word).Where(g => g.Count() == 1 && g.Key.Length > 3).Select(g => g.First()).ToList();
        Assert.NotEmpty(owners);
        var misses = new List<string>();
        foreach (var (word, id) in owners)
        {
            var hits = await Fixtures.SearchTextAsync(Client, word, k: 3);
            if (hits.Count == 0 || hits[0].Id != id)
                misses.Add($"'{word}' (of {id}) → [{string.Join(", ", hits.Select(h => h.Id))}]");
        }
        Assert.True(misses.Count == 0, "title word did not find its product first: " + string.Join("; ", misses));
    }

    [Fact]
    public async Task Search_results_carry_id_score_title_and_attributes()
    {
        var (product, _) = Fixtures.Products.First(p => p.Product.Attributes is { Count: > 0 });
        using var response = await Client.GetAsync($"/v1/search?q={Uri.EscapeDataString(product.Title)}&k=3");
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        var first = body.GetProperty("results")[0];
        Assert.Equal(product.Id, first.GetProperty("id").GetString());
        Assert.Equal(product.Title, first.GetProperty("title").GetString());
        Assert.True(first.GetProperty("score").GetDouble() > 0);
        foreach (var (key, value) in product.Attributes!)
            Assert.Equal(value, first.GetProperty("attributes").GetProperty(key).GetString());
    }

    [Fact]
    public async Task K_limits_the_number_of_results()
    {
        Assert.Equal(3, (await Fixtures.SearchTextAsync(Client, Fixtures.Products[0].Product.Title, k: 3)).Count);
        var hits = await Fixtures.SearchImageAsync(Client, await File.ReadAllBytesAsync(Fixtures.Products[0].ImagePath), Fixtures.ContentTypeOf(Fixtures.Products[0].ImagePath), k: 4);
        Assert.Equal(4, hits.Count);
    }

    [Fact]
    public async Task Product_shows_indexed_status_and_its_fields()
    {
        var (product, _) = Fixtures.Products[1];
        var body = await Client.GetFromJsonAsync<JsonElement>($"/v1/products/{product.Id}");
        Assert.Equal("indexed", body.GetProperty("status").GetString());
        Assert.Equal(product.Title, body.GetProperty("title").GetString());
        Assert.Equal(product.Category, body.GetProperty("category").GetString());
    }

    [Fact]
    public async Task Ingesting_the_same_product_twice_leaves_one_entry()
    {
        var (product, imagePath) = Fixtures.Products[2];
        var image = await File.ReadAllBytesAsync(imagePath);
        using (var again = await Fixtures.PostJsonAsync(Client, product, image))
            Assert.Equal(HttpStatusCode.Accepted, again.StatusCode);
        using (var changed = await Fixtures.PostJsonAsync(Client, product with { Title = product.Title + " Deluxe" }, image))
            Assert.Equal(HttpStatusCode.Accepted, changed.StatusCode);
        await Fixtures.WaitIndexedAsync(Client, [product.Id], TimeSpan.FromSeconds(60));

        var hits = await Fixtures.SearchImageAsync(Client, image, Fixtures.ContentTypeOf(imagePath), k: 100);
        Assert.Single(hits, h => h.Id == product.Id);
        Assert.Equal(product.Title + " Deluxe", hits.Single(h => h.Id == product.Id).Title);

        // Restore the fixture's title for the other tests.
        using (var restore = await Fixtures.PostJsonAsync(Client, product, image))
            Assert.Equal(HttpStatusCode.Accepted, restore.StatusCode);
        await Fixtures.WaitIndexedAsync(Client, [product.Id], TimeSpan.FromSeconds(60));
    }

    [Fact]
    public async Task Health_endpoints_report_live_and_ready()
    {
        using var live = await Client.GetAsync("/health/live");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        var ready = await Client.GetFromJsonAsync<JsonElement>("/health/ready");
        Assert.Equal("Healthy", ready.GetProperty("status").GetString());
        Assert.True(ready.GetProperty("checks").TryGetProperty("model", out _));
        Assert.Contains(ready.GetProperty("checks").EnumerateObject(), c => c.Name.Contains("masstransit", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task The_OpenAPI_document_describes_the_v1_api()
    {
        var doc = await Client.GetFromJsonAsync<JsonElement>("/openapi/v1.json");
        var paths = doc.GetProperty("paths");
        foreach (var path in new[] { "/v1/products", "/v1/products/{id}", "/v1/search", "/v1/search/image" })
            Assert.True(paths.TryGetProperty(path, out _), $"{path} is missing from the OpenAPI document");
    }
}
