using System.Net.Http.Json;
using System.Text.Json;
using Platform.Catalog;
using Platform.Contracts;
using Platform.Tests;

namespace Platform.Integration.Tests;

/// <summary>The committed fixture catalog (tests/fixtures/products) and helpers to send it over HTTP.</summary>
public static class Fixtures
{
    public static string ProductsDirectory => RepoPaths.InRepo("tests", "fixtures", "products");

    public static string CatalogPath => Path.Combine(ProductsDirectory, "catalog.jsonl");

    public static IReadOnlyList<(ProductInfo Product, string ImagePath)> Products { get; } =
        CatalogFile.Read(CatalogPath).Select(l => (l.Product!, l.ImagePath!)).ToList();

    /// <summary>POSTs a product as JSON with a base64 image.</summary>
    public static Task<HttpResponseMessage> PostJsonAsync(HttpClient client, ProductInfo product, byte[] image) =>
        client.PostAsJsonAsync("/v1/products", new
        {
            id = product.Id,
            title = product.Title,
            description = product.Description,
            category = product.Category,
            price = product.Price,
            attributes = product.Attributes,
            image = Convert.ToBase64String(image),
        });

    /// <summary>POSTs a product as a multipart form with an 'image' file part.</summary>
    public static Task<HttpResponseMessage> PostMultipartAsync(HttpClient client, ProductInfo product, byte[] image, string fileName)
    {
        var form = new MultipartFormDataContent
        {
            { new StringContent(product.Id), "id" },
            { new StringContent(product.Title), "title" },
            { new ByteArrayContent(image), "image", fileName },
        };
        if (product.Description is not null)
            form.Add(new StringContent(product.Description), "description");
        if (product.Category is not null)
            form.Add(new StringContent(product.Category), "category");
        if (product.Attributes is not null)
            form.Add(new StringContent(JsonSerializer.Serialize(product.Attributes)), "attributes");
        return client.PostAsync("/v1/products", form);
    }

    public static async Task<string?> StatusAsync(HttpClient client, string id)
    {
        using var response = await client.GetAsync($"/v1/products/{id}");
        if (!response.IsSuccessStatusCode)
            return null;
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return body.GetProperty("status").GetString();
    }

    /// <summary>Waits until every id is indexed; fails with the laggards' statuses after <paramref name="timeout"/>.</summary>
    public static async Task WaitIndexedAsync(HttpClient client, IEnumerable<string> ids, TimeSpan timeout)
    {
        var waiting = ids.ToHashSet();
        var deadline = DateTime.UtcNow + timeout;
        var statuses = new Dictionary<string, string?>();
        while (waiting.Count > 0 && DateTime.UtcNow < deadline)
        {
            foreach (var id in waiting.ToList())
            {
                statuses[id] = await StatusAsync(client, id);
                if (statuses[id] == "indexed")
                    waiting.Remove(id);
            }
            if (waiting.Count > 0)
                await Task.Delay(100);
        }
        Assert.True(waiting.Count == 0, "not indexed in time: " + string.Join(", ", waiting.Select(id => $"{id}={statuses[id] ?? "missing"}")));
    }

    public static async Task<List<(string Id, double Score, string Title)>> SearchTextAsync(HttpClient client, string query, int k = 10)
    {
        using var response = await client.GetAsync($"/v1/search?q={Uri.EscapeDataString(query)}&k={k}");
        response.EnsureSuccessStatusCode();
        return ReadHits(await response.Content.ReadFromJsonAsync<JsonElement>());
    }

    public static async Task<List<(string Id, double Score, string Title)>> SearchImageAsync(HttpClient client, byte[] image, string contentType, int k = 10)
    {
        var content = new ByteArrayContent(image);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(contentType);
        using var response = await client.PostAsync($"/v1/search/image?k={k}", content);
        response.EnsureSuccessStatusCode();
        return ReadHits(await response.Content.ReadFromJsonAsync<JsonElement>());
    }

    public static string ContentTypeOf(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".jpg" or ".jpeg" => "image/jpeg",
        ".png" => "image/png",
        ".webp" => "image/webp",
        ".gif" => "image/gif",
        var other => throw new ArgumentException($"no fixture content type for {other}"),
    };

    private static List<(string, double, string)> ReadHits(JsonElement body) =>
        body.GetProperty("results").EnumerateArray()
            .Select(h => (h.GetProperty("id").GetString()!, h.GetProperty("score").GetDouble(), h.GetProperty("title").GetString()!))
            .ToList();
}
