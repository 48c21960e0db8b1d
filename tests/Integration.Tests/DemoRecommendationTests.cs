using System.Net.Http.Json;
using System.Text.Json;
using Platform.Tests;

namespace Platform.Integration.Tests;

/// <summary>A platform serving the 849-product demo catalog with the bundled model, for recommendations that must
/// make sense to a shopper (the fixture catalog is too small for that).</summary>
public sealed class DemoCatalogServer : IAsyncLifetime
{
    private readonly string _data = Directory.CreateTempSubdirectory("platform-demo-").FullName;

    public PlatformProcess Server { get; private set; } = null!;

    public async ValueTask InitializeAsync() =>
        Server = await PlatformProcess.StartAsync(_data, "--catalog", RepoPaths.InRepo("models", "demo-catalog", "catalog.jsonl"));

    public async ValueTask DisposeAsync()
    {
        if (Server is not null)
            await Server.DisposeAsync();
        Directory.Delete(_data, recursive: true);
    }
}

public sealed class DemoRecommendationTests(DemoCatalogServer demo) : IClassFixture<DemoCatalogServer>
{
    private HttpClient Client => demo.Server.Client;

    private static List<(string Id, string Title, string Subcategory)> Hits(JsonElement body) =>
        [.. body.GetProperty("results").EnumerateArray().Select(h => (h.GetProperty("id").GetString()!, h.GetProperty("title").GetString()!,
            h.GetProperty("attributes").GetProperty("subcategory").GetString()!))];

    private const string GreenBook = "emoji-1f4d7";
    private const string BlueBook = "emoji-1f4d8";

    [Fact]
    public async Task Products_similar_to_a_book_are_mostly_books()
    {
        var hits = Hits(await Client.GetFromJsonAsync<JsonElement>($"/v1/products/{GreenBook}/similar?k=5"));
        Assert.True(hits.Count(h => h.Subcategory == "book-paper") >= 3, string.Join(", ", hits.Select(h => $"{h.Title} ({h.Subcategory})")));
        Assert.Contains(hits.Take(3), h => h.Id == BlueBook);
    }

    [Fact]
    public async Task A_green_book_and_the_word_blue_recommend_the_blue_book_first()
    {
        using var response = await Client.PostAsJsonAsync("/v1/recommend", new { positive = new[] { GreenBook }, q = "blue", k = 3 });
        var hits = Hits(await response.Content.ReadFromJsonAsync<JsonElement>());
        Assert.True(hits.Count > 0 && hits[0].Id == BlueBook, string.Join(", ", hits.Select(h => h.Title)));
    }

    [Theory]
    [InlineData("early")]
    [InlineData("late")]
    public async Task A_photo_of_the_green_book_and_the_word_blue_find_the_blue_book_first(string fusion)
    {
        var image = Convert.ToBase64String(await File.ReadAllBytesAsync(RepoPaths.InRepo("models", "demo-catalog", "images", $"{GreenBook}.webp")));
        var (hits, _, used) = await ComposedSearchTests.SearchAsync(Client, new { image, q = "blue", k = 3, fusion });
        Assert.Equal(fusion, used);
        Assert.True(hits[0].Id == BlueBook, string.Join(", ", hits.Select(h => h.Id)));
    }

    [Fact]
    public async Task Similar_within_the_category_keeps_to_it()
    {
        var category = (await Client.GetFromJsonAsync<JsonElement>("/v1/products/emoji-1f34e")).GetProperty("category").GetString();
        var hits = Hits(await Client.GetFromJsonAsync<JsonElement>("/v1/products/emoji-1f34e/similar?k=20&sameCategory=true"));
        Assert.Equal(20, hits.Count);
        foreach (var (id, _, _) in hits)
            Assert.Equal(category, (await Client.GetFromJsonAsync<JsonElement>($"/v1/products/{id}")).GetProperty("category").GetString());
    }

    private static async Task<string> PhotoOf(string id) =>
        Convert.ToBase64String(await File.ReadAllBytesAsync(RepoPaths.InRepo("models", "demo-catalog", "images", $"{id}.webp")));

    /// <summary>A photo and a word that is in the wanted product's title (and not the photo's): the caption signal
    /// (the shopper's words with the photo's product's title) finds the variant the words name.</summary>
    [Fact]
    public async Task A_photo_of_a_file_folder_and_the_word_open_find_the_open_file_folder_first()
    {
        var (hits, _, _) = await ComposedSearchTests.SearchAsync(Client, new { image = await PhotoOf("emoji-1f4c1"), q = "open", k = 3, explain = true });
        Assert.True(hits[0].Id == "emoji-1f4c2", string.Join(", ", hits.Select(h => h.Id)));
        Assert.Contains(hits[0].Explain!.Value.EnumerateArray(), e => e.GetProperty("signal").GetString() == "caption");
    }

    [Fact]
    public async Task A_photo_of_the_moon_face_and_words_that_rule_the_face_out_find_the_plain_full_moon_first()
    {
        var (hits, _, _) = await ComposedSearchTests.SearchAsync(Client, new { image = await PhotoOf("emoji-1f31d"), q = "without the face", k = 3 });
        Assert.True(hits[0].Id == "emoji-1f315", string.Join(", ", hits.Select(h => h.Id)));
    }

    [Fact]
    public async Task Typed_words_with_a_negator_in_the_title_are_not_a_negation()
    {
        // "Hourglass Not Done" is a title: the words 'not done' find it, they do not rule out 'done'.
        var (hits, _, _) = await ComposedSearchTests.SearchAsync(Client, new { q = "hourglass not done", k = 3 });
        Assert.True(hits[0].Id == "emoji-23f3", string.Join(", ", hits.Select(h => h.Id)));
    }
}
