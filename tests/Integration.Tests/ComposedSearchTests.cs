using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Platform.Integration.Tests;

/// <summary><c>POST /v1/search</c> on the fixture catalog: words, photos, both; filters and facets; explain; every refusal.</summary>
[Collection(CatalogCollection.Name)]
public sealed class ComposedSearchTests(CatalogServerFixture fixture)
{
    private HttpClient Client => fixture.Client;

    internal sealed record Hit(string Id, double Score, string? Category, decimal? Price, JsonElement? Explain);

    internal static (List<Hit> Hits, JsonElement Facets, string? Fusion) Read(JsonElement body) => (
        [.. body.GetProperty("results").EnumerateArray().Select(h => new Hit(
            h.GetProperty("id").GetString()!, h.GetProperty("score").GetDouble(),
            h.TryGetProperty("category", out var c) ? c.GetString() : null,
            h.TryGetProperty("price", out var p) ? p.GetDecimal() : null,
            h.TryGetProperty("explain", out var e) ? e.Clone() : null))],
        body.GetProperty("facets").Clone(),
        body.TryGetProperty("fusion", out var f) && f.ValueKind == JsonValueKind.String ? f.GetString() : null);

    internal static async Task<(List<Hit> Hits, JsonElement Facets, string? Fusion)> SearchAsync(HttpClient client, object body)
    {
        using var response = await client.PostAsJsonAsync("/v1/search", body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {text}");
        return Read(JsonDocument.Parse(text).RootElement);
    }

    private Task<(List<Hit> Hits, JsonElement Facets, string? Fusion)> SearchAsync(object body) => SearchAsync(Client, body);

    private static Dictionary<string, int> Counts(JsonElement facets, string name) =>
        facets.GetProperty(name).EnumerateArray().ToDictionary(f => f.GetProperty("value").GetString()!, f => f.GetProperty("count").GetInt32());

    [Fact]
    public async Task Words_alone_rank_as_the_get_shortcut_does()
    {
        var composed = await SearchAsync(new { q = "leather boots", k = 8 });
        var shortcut = await Fixtures.SearchTextAsync(Client, "leather boots", 8);
        Assert.Equal(shortcut.Select(h => h.Id), composed.Hits.Select(h => h.Id));
        Assert.Equal("p003", composed.Hits[0].Id);
        Assert.Null(composed.Fusion);
        Assert.All(composed.Hits, h => Assert.InRange(h.Score, 0, 1));
    }

    [Fact]
    public async Task A_photo_alone_finds_its_own_product_first()
    {
        var image = Convert.ToBase64String(await File.ReadAllBytesAsync(Path.Combine(Fixtures.ProductsDirectory, "p012.jpg")));
        var (hits, _, _) = await SearchAsync(new { image, k = 3 });
        Assert.Equal("p012", hits[0].Id);
    }

    [Fact]
    public async Task A_photo_alone_ranks_as_the_image_shortcut_does()
    {
        var bytes = await File.ReadAllBytesAsync(Path.Combine(Fixtures.ProductsDirectory, "p021.jpg"));
        var (hits, _, fusion) = await SearchAsync(new { image = Convert.ToBase64String(bytes), k = 8 });
        using var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("image/jpeg");
        using var response = await Client.PostAsync("/v1/search/image?k=8", content);
        var shortcut = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("results").EnumerateArray().Select(h => h.GetProperty("id").GetString());
        Assert.Equal(shortcut, hits.Select(h => h.Id));
        Assert.Null(fusion);
    }

    [Fact]
    public async Task A_photo_and_words_as_a_multipart_form_say_which_fusion_ran_and_never_return_the_photos_own_product()
    {
        foreach (var fusion in new[] { "early", "late" })
        {
            using var form = new MultipartFormDataContent();
            var image = new ByteArrayContent(await File.ReadAllBytesAsync(Path.Combine(Fixtures.ProductsDirectory, "p001.jpg")));
            image.Headers.ContentType = new MediaTypeHeaderValue("image/jpeg");
            form.Add(image, "image", "p001.jpg");
            form.Add(new StringContent("mug"), "q");
            form.Add(new StringContent("5"), "k");
            form.Add(new StringContent(fusion), "fusion");
            form.Add(new StringContent("""{"category": "kitchen"}"""), "filter");
            form.Add(new StringContent("true"), "explain");
            using var response = await Client.PostAsync("/v1/search", form);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, text);
            var (hits, _, used) = Read(JsonDocument.Parse(text).RootElement);
            Assert.Equal(fusion, used);
            // The photo's own product is what the shopper has: words with a photo ask for something else.
            Assert.DoesNotContain(hits, h => h.Id == "p001");
            Assert.Equal(["p006", "p012"], hits.Select(h => h.Id).Order());
            Assert.All(hits, h => Assert.Equal("kitchen", h.Category));
            var signals = hits[0].Explain!.Value.EnumerateArray().Select(e => e.GetProperty("signal").GetString()).ToHashSet();
            Assert.Contains(fusion == "early" ? "composed-image" : "photo", signals);
        }
    }

    [Fact]
    public async Task Filters_and_facets_agree()
    {
        var all = await SearchAsync(new { q = "red", k = 50 });
        var categories = Counts(all.Facets, "category");
        Assert.Equal(Fixtures.Products.Count, all.Facets.GetProperty("candidates").GetInt32());
        Assert.Equal(Fixtures.Products.GroupBy(p => p.Product.Category!).ToDictionary(g => g.Key, g => g.Count()), categories);
        Assert.Equal(Fixtures.Products.Count, all.Hits.Count);
        // A product without a price is in no price band (the fixture's multipart half is ingested without one).
        Assert.Equal(all.Hits.Count(h => h.Price is not null), Counts(all.Facets, "price").Values.Sum());

        var kitchen = await SearchAsync(new { q = "red", k = 50, filter = new { category = "kitchen" } });
        Assert.Equal(categories["kitchen"], kitchen.Hits.Count);
        Assert.All(kitchen.Hits, h => Assert.Equal("kitchen", h.Category));
        Assert.Equal(new Dictionary<string, int> { ["kitchen"] = categories["kitchen"] }, Counts(kitchen.Facets, "category"));

        var band = await SearchAsync(new { q = "red", k = 50, filter = new { price = new { min = 10, max = 25 } } });
        Assert.All(band.Hits, h => Assert.InRange(h.Price!.Value, 10m, 25m));
        var bands = Counts(band.Facets, "price");
        Assert.Equal(band.Hits.Count, bands.Values.Sum());
        Assert.Equal(band.Hits.Count(h => h.Price < 25), bands.GetValueOrDefault("10-25"));

        var colours = await SearchAsync(new { q = "mug", k = 50, filter = new { attributes = new { color = new[] { "red", "green" } } } });
        Assert.Equal(["p001", "p008", "p024", "p027"], colours.Hits.Select(h => h.Id).Order());
    }

    [Fact]
    public async Task Words_that_rule_something_out_put_the_products_that_have_it_below_those_that_do_not()
    {
        var plain = await SearchAsync(new { q = "footwear, leather", k = 5 });
        Assert.Equal("p003", plain.Hits[0].Id);
        var (hits, _, _) = await SearchAsync(new { q = "footwear, not leather", k = 5, explain = true });
        var leather = hits.FindIndex(h => h.Id == "p003");
        Assert.True(leather > 0, string.Join(", ", hits.Select(h => h.Id)));
        Assert.Contains(hits[leather].Explain!.Value.EnumerateArray(), e => e.GetProperty("signal").GetString() == "ruled-out");
        Assert.All(hits.Take(leather), h => Assert.DoesNotContain(h.Explain!.Value.EnumerateArray(), e => e.GetProperty("signal").GetString() == "ruled-out"));
    }

    [Fact]
    public async Task A_minimum_score_drops_the_weaker_hits_and_explain_adds_up()
    {
        var (hits, _, _) = await SearchAsync(new { q = "cast iron skillet", k = 20, explain = true });
        foreach (var hit in hits)
        {
            var parts = hit.Explain!.Value.EnumerateArray().ToList();
            Assert.NotEmpty(parts);
            Assert.All(parts, p => Assert.True(p.GetProperty("weight").GetDouble() > 0));
            // Within 1e-4, not "equal to 4 decimal places": rounding both sides can split a pair 1e-7 apart
            // (0.03695 and 0.0369501 round to 0.0369 and 0.0370).
            Assert.Equal(hit.Score, parts.Sum(p => p.GetProperty("contribution").GetDouble()), 1e-4);
        }
        var threshold = hits[2].Score;
        var (kept, facets, _) = await SearchAsync(new { q = "cast iron skillet", k = 20, minScore = threshold });
        Assert.Equal(hits.TakeWhile(h => h.Score >= threshold).Select(h => h.Id), kept.Select(h => h.Id));
        Assert.Equal(kept.Count, facets.GetProperty("candidates").GetInt32());
    }

    [Fact]
    public async Task Diversity_spreads_the_top_hits_across_categories()
    {
        var plain = await SearchAsync(new { q = "teal home decor", k = 6 });
        var diverse = await SearchAsync(new { q = "teal home decor", k = 6, diversity = 0.8 });
        Assert.Equal(plain.Hits[0].Id, diverse.Hits[0].Id);
        // Diversity trades near-duplicates of the best hits for others: the list changes, and it covers at least as
        // many categories (with shopping-clip it covered more; with shopping-minilm, as many, but other ones).
        Assert.NotEqual(plain.Hits.Select(h => h.Id).ToHashSet(), diverse.Hits.Select(h => h.Id).ToHashSet());
        Assert.True(diverse.Hits.Select(h => h.Category).Distinct().Count() >= plain.Hits.Select(h => h.Category).Distinct().Count(),
            $"plain: {string.Join(", ", plain.Hits.Select(h => h.Category))}; diverse: {string.Join(", ", diverse.Hits.Select(h => h.Category))}");
    }

    public static TheoryData<string, string> BadBodies => new()
    {
        { "{}", "give 'q' (words), 'image' (a photo), or both" },
        { """{"q": "mug", "colour": "red"}""", "'colour' is not a search field" },
        { """{"q": 5}""", "'q' must be a string" },
        { """{"q": "mug", "k": 0}""", "'k' must be an integer from 1 to 100" },
        { """{"q": "mug", "k": 2.5}""", "'k' must be an integer" },
        { """{"q": "mug", "image": "%%%"}""", "'image' is not valid base64" },
        { """{"q": "mug", "weights": {"lexical": 11}}""", "'weights.lexical' must be from 0 to 10" },
        { """{"q": "mug", "weights": {"bm25": 1}}""", "'weights.bm25' is not known" },
        { """{"q": "mug", "weights": {"textShare": 1.5}}""", "'weights.textShare' must be from 0 to 1" },
        { """{"q": "mug", "boosts": {"inStock": 0.9}}""", "'boosts.inStock' must be from 0 to 0.5" },
        { """{"q": "mug", "boosts": []}""", "'boosts' must be an object" },
        { """{"q": "mug", "fusion": "middle"}""", "'fusion' must be 'early' or 'late'" },
        { """{"q": "mug", "minScore": -1}""", "'minScore' must be from 0 to 1" },
        { """{"q": "mug", "diversity": "lots"}""", "'diversity' must be a number" },
        { """{"q": "mug", "personalisation": 0.9}""", "'personalisation' must be from 0 to 0.5" },
        { """{"q": "mug", "explain": "yes"}""", "'explain' must be true or false" },
        { """{"q": "mug", "filter": {"brand": "x"}}""", "'filter.brand' is not a filter field" },
        { """{"q": "mug", "shopper": ""}""", "'shopper' must be 1 to 128 characters" },
        { "[1, 2]", "must be a JSON object" },
        { "{nope", "not valid JSON" },
    };

    [Theory]
    [MemberData(nameof(BadBodies))]
    public async Task A_bad_search_is_a_400_that_says_what_is_wrong(string body, string reason)
    {
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await Client.PostAsync("/v1/search", content);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{(int)response.StatusCode}: {text}");
        Assert.Contains(reason, text);
    }

    [Fact]
    public async Task A_search_in_another_content_type_is_a_415_and_a_bad_form_field_a_400()
    {
        using (var response = await Client.PostAsync("/v1/search", new StringContent("q=mug", Encoding.UTF8, "text/plain")))
            Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        using var form = new MultipartFormDataContent { { new StringContent("mug"), "q" }, { new StringContent("{broken"), "filter" } };
        using var bad = await Client.PostAsync("/v1/search", form);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("'filter' is not valid JSON", await bad.Content.ReadAsStringAsync());
    }
}
