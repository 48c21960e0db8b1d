using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Platform.Contracts;

namespace Platform.Cli;

/// <summary>A thin client of the HTTP API, for the CLI's commands that talk to a running server.</summary>
public sealed class PlatformClient(Uri server) : IDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = server, Timeout = TimeSpan.FromMinutes(2) };

    /// <summary>Posts a product as a multipart form; returns null on success, else the server's problem detail.</summary>
    public async Task<string?> IngestAsync(ProductInfo product, string imagePath, CancellationToken ct)
    {
        using var form = new MultipartFormDataContent();
        form.Add(new StringContent(product.Id), "id");
        form.Add(new StringContent(product.Title), "title");
        if (product.Description is not null)
            form.Add(new StringContent(product.Description), "description");
        if (product.Category is not null)
            form.Add(new StringContent(product.Category), "category");
        if (product.Price is { } price)
            form.Add(new StringContent(price.ToString(CultureInfo.InvariantCulture)), "price");
        if (product.Attributes is not null)
            form.Add(new StringContent(JsonSerializer.Serialize(product.Attributes)), "attributes");
        var image = new ByteArrayContent(await File.ReadAllBytesAsync(imagePath, ct));
        image.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        form.Add(image, "image", Path.GetFileName(imagePath));
        using var response = await _http.PostAsync("v1/products", form, ct);
        return response.IsSuccessStatusCode ? null : await ProblemAsync(response, ct);
    }

    public async Task<string?> StatusAsync(string id, CancellationToken ct)
    {
        using var response = await _http.GetAsync($"v1/products/{Uri.EscapeDataString(id)}", ct);
        if (!response.IsSuccessStatusCode)
            return null;
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct));
        return doc.RootElement.GetProperty("status").GetString();
    }

    public async Task<JsonElement> SearchTextAsync(string query, int k, CancellationToken ct)
    {
        using var response = await _http.GetAsync($"v1/search?q={Uri.EscapeDataString(query)}&k={k}", ct);
        return await ResultsAsync(response, ct);
    }

    public async Task<JsonElement> SearchImageAsync(string imagePath, int k, CancellationToken ct)
    {
        var content = new ByteArrayContent(await File.ReadAllBytesAsync(imagePath, ct));
        content.Headers.ContentType = new MediaTypeHeaderValue("image/" + Path.GetExtension(imagePath).TrimStart('.').ToLowerInvariant().Replace("jpg", "jpeg"));
        using var response = await _http.PostAsync($"v1/search/image?k={k}", content, ct);
        return await ResultsAsync(response, ct);
    }

    public void Dispose() => _http.Dispose();

    private static async Task<JsonElement> ResultsAsync(HttpResponseMessage response, CancellationToken ct)
    {
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException(await ProblemAsync(response, ct));
        var body = await response.Content.ReadFromJsonAsync<JsonElement>(ct);
        return body.GetProperty("results");
    }

    private static async Task<string> ProblemAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var text = await response.Content.ReadAsStringAsync(ct);
        try
        {
            using var doc = JsonDocument.Parse(text);
            if (doc.RootElement.TryGetProperty("detail", out var detail))
                return $"{(int)response.StatusCode}: {detail.GetString()}";
        }
        catch (JsonException)
        {
        }
        return $"{(int)response.StatusCode} {response.ReasonPhrase}: {text}";
    }
}
