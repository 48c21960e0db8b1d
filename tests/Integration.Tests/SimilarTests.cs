using System.Net;
using System.Text.Json;

namespace Platform.Integration.Tests;

/// <summary><c>GET /v1/products/{id}/similar</c> on the fixture catalog.</summary>
[Collection(CatalogCollection.Name)]
public sealed class SimilarTests(CatalogServerFixture fixture)
{
    private HttpClient Client => fixture.Client;

    private async Task<List<(string Id, string Category, string[] Reasons)>> SimilarAsync(string id, string query = "")
    {
        using var response = await Client.GetAsync($"/v1/products/{id}/similar{query}");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {text}");
        var categories = Fixtures.Products.ToDictionary(p => p.Product.Id, p => p.Product.Category ?? "");
        return [.. JsonDocument.Parse(text).RootElement.GetProperty("results").EnumerateArray().Select(hit =>
        {
            var hitId = hit.GetProperty("id").GetString()!;
            var reasons = hit.GetProperty("reasons").EnumerateArray().Select(r => r.GetString()!).ToArray();
            return (hitId, categories[hitId], reasons);
        })];
    }

    [Fact]
    public async Task Similar_products_never_include_the_product_and_say_why_each_is_there()
    {
        foreach (var (product, _) in Fixtures.Products)
        {
            var hits = await SimilarAsync(product.Id, "?k=5");
            Assert.Equal(5, hits.Count);
            Assert.DoesNotContain(hits, h => h.Id == product.Id);
            Assert.Equal(hits.Count, hits.Select(h => h.Id).Distinct().Count());
            Assert.All(hits, h => Assert.NotEmpty(h.Reasons));
            Assert.All(hits, h => Assert.All(h.Reasons, r => Assert.Matches(@"^(looks alike|described alike) \(#\d+, similarity -?\d\.\d{3}\)$", r)));
        }
    }

    [Fact]
    public async Task With_sameCategory_every_hit_is_in_the_product_category()
    {
        var kitchen = Fixtures.Products.Where(p => p.Product.Category == "kitchen").ToList();
        Assert.True(kitchen.Count >= 3, "the fixture catalog needs three kitchen products");
        var hits = await SimilarAsync(kitchen[0].Product.Id, "?k=10&sameCategory=true");
        // Every other kitchen product, and nothing else.
        Assert.Equal(kitchen.Skip(1).Select(p => p.Product.Id).Order(), hits.Select(h => h.Id).Order());
    }

    [Fact]
    public async Task The_same_request_gives_the_same_list()
    {
        var id = Fixtures.Products[3].Product.Id;
        Assert.Equal((await SimilarAsync(id, "?k=8")).Select(h => h.Id), (await SimilarAsync(id, "?k=8")).Select(h => h.Id));
    }

    [Theory]
    [InlineData("no-such-product", "", HttpStatusCode.NotFound, "no product with id 'no-such-product'")]
    [InlineData("p001", "?k=0", HttpStatusCode.BadRequest, "'k' must be an integer from 1 to 100")]
    [InlineData("p001", "?k=101", HttpStatusCode.BadRequest, "'k' must be an integer from 1 to 100")]
    [InlineData("p001", "?sameCategory=yes", HttpStatusCode.BadRequest, "'sameCategory' must be true or false, got 'yes'")]
    public async Task Bad_requests_say_what_is_wrong(string id, string query, HttpStatusCode status, string detail)
    {
        using var response = await Client.GetAsync($"/v1/products/{id}/similar{query}");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {text}");
        Assert.Contains(detail, JsonDocument.Parse(text).RootElement.GetProperty("detail").GetString());
    }
}
