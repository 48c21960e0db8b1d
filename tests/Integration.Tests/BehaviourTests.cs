using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Platform.Tests;

namespace Platform.Integration.Tests;

/// <summary>A platform process of its own with the fixture catalog, for tests that record behaviour (and restart it).</summary>
public sealed class BehaviourServer : IAsyncLifetime
{
    private readonly string _data = Directory.CreateTempSubdirectory("platform-behaviour-").FullName;

    public PlatformProcess Server { get; private set; } = null!;

    public HttpClient Client => Server.Client;

    public async ValueTask InitializeAsync()
    {
        Server = await PlatformProcess.StartAsync(_data, "--catalog", RepoPaths.InRepo("tests", "fixtures", "products", "catalog.jsonl"));
        await Fixtures.WaitIndexedAsync(Client, Fixtures.Products.Select(p => p.Product.Id), TimeSpan.FromSeconds(120));
    }

    /// <summary>Kills the process (SIGKILL: nothing flushed) and starts it again on the same data.</summary>
    public async Task CrashAndRestartAsync()
    {
        await Server.KillHardAsync();
        await Server.DisposeAsync();
        Server = await PlatformProcess.StartAsync(_data);
    }

    public async ValueTask DisposeAsync()
    {
        if (Server is not null)
            await Server.DisposeAsync();
        Directory.Delete(_data, recursive: true);
    }
}

/// <summary>Events in, recommendations for shoppers and sessions out, on the fixture catalog; each test its own shoppers.</summary>
public sealed class BehaviourTests(BehaviourServer platform) : IClassFixture<BehaviourServer>
{
    private HttpClient Client => platform.Client;

    private static object Event(string eventId, string shopper, string product, string type, string? session = null) =>
        new { eventId, shopperId = shopper, sessionId = session, productId = product, type };

    private async Task<JsonElement> RecordAsync(params object[] events)
    {
        using var response = await Client.PostAsJsonAsync("/v1/events", events);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private async Task<(HttpStatusCode Status, string Body)> GetAsync(string path)
    {
        using var response = await Client.GetAsync(path);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private async Task<List<Hit>> HitsAsync(string path)
    {
        var (status, body) = await GetAsync(path);
        Assert.True(status == HttpStatusCode.OK, $"{path}: {(int)status} {body}");
        return [.. JsonDocument.Parse(body).RootElement.GetProperty("results").EnumerateArray().Select(h => new Hit(
            h.GetProperty("id").GetString()!,
            h.TryGetProperty("category", out var c) ? c.GetString() : null,
            h.TryGetProperty("price", out var p) ? p.GetDecimal() : null,
            [.. h.GetProperty("reasons").EnumerateArray().Select(r => r.GetString()!)]))];
    }

    private sealed record Hit(string Id, string? Category, decimal? Price, string[] Reasons);

    [Fact]
    public async Task A_shopper_who_views_and_buys_sneakers_gets_the_boots_and_never_the_pair_bought()
    {
        await RecordAsync(
            Event("shoes-1", "shoes-fan", "p021", "view"),
            Event("shoes-2", "shoes-fan", "p021", "click"),
            Event("shoes-3", "shoes-fan", "p021", "cart"),
            Event("shoes-4", "shoes-fan", "p021", "purchase"));
        var hits = await HitsAsync("/v1/shoppers/shoes-fan/recommendations?k=5");
        Assert.Equal(5, hits.Count);
        Assert.DoesNotContain(hits, h => h.Id == "p021");
        Assert.Equal("p003", hits[0].Id);
        Assert.Contains(hits[0].Reasons, r => r.StartsWith("looks like what you liked", StringComparison.Ordinal));
        Assert.Contains(hits[0].Reasons, r => r.StartsWith("you often look at footwear", StringComparison.Ordinal));

        var (status, body) = await GetAsync("/v1/shoppers/shoes-fan");
        Assert.Equal(HttpStatusCode.OK, status);
        var summary = JsonDocument.Parse(body).RootElement;
        Assert.Equal(4, summary.GetProperty("interactions").GetInt64());
        Assert.Equal(["p021"], summary.GetProperty("excluded").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("purchase", summary.GetProperty("recent")[0].GetProperty("type").GetString());
        Assert.Equal(1.0, summary.GetProperty("categories").GetProperty("footwear").GetDouble());
    }

    [Fact]
    public async Task An_event_sent_twice_is_recorded_once()
    {
        object[] batch = [Event("twice-1", "twice", "p008", "view"), Event("twice-2", "twice", "p017", "click")];
        var first = await RecordAsync(batch);
        Assert.Equal(2, first.GetProperty("recorded").GetInt32());
        Assert.Equal(0, first.GetProperty("duplicates").GetInt32());
        var again = await RecordAsync(batch);
        Assert.Equal(0, again.GetProperty("recorded").GetInt32());
        Assert.Equal(2, again.GetProperty("duplicates").GetInt32());
        var summary = JsonDocument.Parse((await GetAsync("/v1/shoppers/twice")).Body).RootElement;
        Assert.Equal(2, summary.GetProperty("interactions").GetInt64());
    }

    [Fact]
    public async Task Products_taken_together_by_shoppers_show_up_as_similar_with_the_reason()
    {
        foreach (var shopper in new[] { "cook-a", "cook-b" })
            await RecordAsync(Event($"{shopper}-1", shopper, "p012", "view"), Event($"{shopper}-2", shopper, "p014", "purchase"));
        // The aggregates are folded from the bus: wait for them.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        Hit? candle = null;
        while (candle is null && DateTime.UtcNow < deadline)
        {
            candle = (await HitsAsync("/v1/products/p012/similar?k=10")).FirstOrDefault(h =>
                h.Id == "p014" && h.Reasons.Any(r => r.StartsWith("often together with 'Cast Iron Skillet'", StringComparison.Ordinal)));
            if (candle is null)
                await Task.Delay(200);
        }
        Assert.NotNull(candle);
    }

    [Fact]
    public async Task A_session_gets_next_products_like_its_latest_and_never_one_it_holds()
    {
        await RecordAsync(Event("sess-1", "visitor", "p001", "view", "visit-1"), Event("sess-2", "visitor", "p006", "view", "visit-1"));
        var hits = await HitsAsync("/v1/sessions/visit-1/next?k=5");
        Assert.Equal(5, hits.Count);
        Assert.DoesNotContain(hits, h => h.Id is "p001" or "p006");
        Assert.Contains("p012", hits.Take(3).Select(h => h.Id));
        Assert.Contains(hits[0].Reasons, r => r.Contains("'Bamboo Cutting Board', seen last", StringComparison.Ordinal));

        var fresh = await HitsAsync("/v1/sessions/never-seen/next?k=4");
        Assert.Equal(4, fresh.Count);
        Assert.All(fresh, h => Assert.All(h.Reasons, r => Assert.Matches("^(popular in the last 7 days|a pick from across the catalog)", r)));
    }

    [Fact]
    public async Task A_new_shopper_gets_popular_products_or_a_pick_across_the_catalog()
    {
        var hits = await HitsAsync("/v1/shoppers/brand-new/recommendations?k=6");
        Assert.Equal(6, hits.Count);
        Assert.Equal(6, hits.Select(h => h.Id).Distinct().Count());
        Assert.All(hits, h => Assert.All(h.Reasons, r => Assert.Matches("^(popular in the last 7 days|a pick from across the catalog)", r)));
        Assert.Equal(HttpStatusCode.NotFound, (await GetAsync("/v1/shoppers/brand-new")).Status);
    }

    [Fact]
    public async Task Recommendations_keep_to_the_filter()
    {
        await RecordAsync(Event("filter-1", "filtered", "p013", "view"), Event("filter-2", "filtered", "p020", "click"));
        var filter = Uri.EscapeDataString("""{"category": ["home", "kitchen"], "price": {"max": 35}}""");
        var hits = await HitsAsync($"/v1/shoppers/filtered/recommendations?k=10&filter={filter}");
        Assert.NotEmpty(hits);
        Assert.All(hits, h => Assert.True(h.Category is "home" or "kitchen" && h.Price <= 35, $"{h.Id} {h.Category} {h.Price}"));
        Assert.DoesNotContain(hits, h => h.Id is "p013" or "p020");

        var similar = await HitsAsync($"/v1/products/p013/similar?k=10&filter={Uri.EscapeDataString("""{"attributes": {"color": ["teal", "purple"]}}""")}");
        Assert.Equal(["p014", "p020", "p023"], similar.Select(h => h.Id).Order());
        var session = await HitsAsync($"/v1/sessions/none-yet/next?k=10&filter={Uri.EscapeDataString("""{"category": "footwear"}""")}");
        Assert.All(session, h => Assert.Equal("footwear", h.Category));
    }

    [Fact]
    public async Task A_forgotten_shopper_is_gone_with_their_sessions()
    {
        await RecordAsync(Event("forget-1", "leaving", "p005", "purchase", "leaving-visit"));
        Assert.DoesNotContain(await HitsAsync("/v1/shoppers/leaving/recommendations?k=20"), h => h.Id == "p005");
        using (var response = await Client.DeleteAsync("/v1/shoppers/leaving"))
            Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await GetAsync("/v1/shoppers/leaving")).Status);
        var next = await HitsAsync("/v1/sessions/leaving-visit/next?k=3");
        Assert.DoesNotContain(next, h => h.Reasons.Any(r => r.Contains("seen last", StringComparison.Ordinal)));
        // The same event again is a new event now: the log no longer holds it.
        Assert.Equal(1, (await RecordAsync(Event("forget-1", "leaving", "p005", "purchase"))).GetProperty("recorded").GetInt32());
    }

    public static TheoryData<string, string, HttpStatusCode, string> BadEvents => new()
    {
        { "application/json", "{not json", HttpStatusCode.BadRequest, "not valid JSON" },
        { "text/plain", "hello", HttpStatusCode.UnsupportedMediaType, "application/json" },
        { "application/json", "[]", HttpStatusCode.BadRequest, "empty" },
        { "application/json", "42", HttpStatusCode.BadRequest, "event object or a list" },
        { "application/json", """{"eventId":"b1","shopperId":"bad","productId":"p001","type":"like"}""", HttpStatusCode.BadRequest, "'like'" },
        { "application/json", """{"shopperId":"bad","productId":"p001","type":"view"}""", HttpStatusCode.BadRequest, "'eventId' is required" },
        { "application/json", """{"eventId":"b2","shopperId":"bad","productId":"p001"}""", HttpStatusCode.BadRequest, "'type' is required" },
        { "application/json", """{"eventId":"b3","user":"bad","productId":"p001","type":"view"}""", HttpStatusCode.BadRequest, "'user' is not an event field" },
        { "application/json", """{"eventId":"b4","shopperId":"bad","productId":7,"type":"view"}""", HttpStatusCode.BadRequest, "'productId' must be a string" },
        { "application/json", """{"eventId":"b5","shopperId":"bad","productId":"p001","type":"view","at":"yesterday"}""", HttpStatusCode.BadRequest, "ISO 8601" },
        { "application/json", """{"eventId":"b6","shopperId":"bad","productId":"p001","type":"view","at":"2999-01-01T00:00:00Z"}""", HttpStatusCode.BadRequest, "in the future" },
        { "application/json", """[{"eventId":"b7","shopperId":"bad","productId":"p001","type":"view"},{"eventId":"b8","shopperId":"bad","productId":"nope","type":"view"}]""",
            HttpStatusCode.UnprocessableEntity, "no product with id 'nope'" },
        { "application/json", """[{"eventId":"b9","shopperId":"bad","productId":"p001","type":"view"},{"eventId":"b9","shopperId":"bad","productId":"p002","type":"view"}]""",
            HttpStatusCode.BadRequest, "'b9' is used by different events" },
        { "application/json", """{"eventId":"","shopperId":"bad","productId":"p001","type":"view"}""", HttpStatusCode.BadRequest, "1 to 128 characters" },
    };

    [Theory]
    [MemberData(nameof(BadEvents))]
    public async Task A_bad_event_is_refused_with_the_reason_and_nothing_is_recorded(string contentType, string body, HttpStatusCode status, string reason)
    {
        using var content = new StringContent(body, Encoding.UTF8, contentType);
        using var response = await Client.PostAsync("/v1/events", content);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"{(int)response.StatusCode}: {text}");
        Assert.Contains(reason, text);
        Assert.Equal(HttpStatusCode.NotFound, (await GetAsync("/v1/shoppers/bad")).Status);
    }

    [Fact]
    public async Task Too_many_events_in_one_request_are_refused()
    {
        var events = Enumerable.Range(0, 1001).Select(i => Event($"many-{i}", "many", "p001", "view")).ToArray();
        using var response = await Client.PostAsJsonAsync("/v1/events", events);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("at most 1000", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("/v1/shoppers/x/recommendations?k=0", "'k' must be an integer from 1 to 100")]
    [InlineData("/v1/shoppers/x/recommendations?filter=%7Bnope", "'filter' is not valid JSON")]
    [InlineData("/v1/shoppers/x/recommendations?filter=%7B%22colour%22%3A%22red%22%7D", "'filter.colour' is not a filter field")]
    [InlineData("/v1/sessions/x/next?filter=%7B%22price%22%3A%7B%22min%22%3A50%2C%22max%22%3A10%7D%7D", "is more than 'filter.price.max'")]
    [InlineData("/v1/sessions/x/next?filter=%7B%22category%22%3A%5B%5D%7D", "'filter.category' is an empty list")]
    [InlineData("/v1/products/p001/similar?filter=%5B1%5D", "'filter' must be a JSON object")]
    [InlineData("/v1/products/p001/similar?filter=%7B%22attributes%22%3A%7B%22color%22%3A3%7D%7D", "'filter.attributes.color' must be a string or a list of strings")]
    [InlineData("/v1/products/p001/similar?filter=%7B%22price%22%3A%7B%22max%22%3A%22cheap%22%7D%7D", "'filter.price.max' must be a number")]
    public async Task A_bad_parameter_is_a_400_that_says_what_is_wrong(string path, string reason)
    {
        var (status, body) = await GetAsync(path);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(reason, body);
    }

    [Fact]
    public async Task A_shopper_personalises_a_search_within_the_bound_and_a_session_can_too()
    {
        await RecordAsync(Event("taste-1", "hiker", "p003", "purchase", "hike-visit"), Event("taste-2", "hiker", "p021", "view", "hike-visit"));
        var query = new { q = "black", k = 50, explain = true };
        // k above the catalog's size: every product is a hit, whatever else other tests of this class ingested.
        var plain = (await ComposedSearchTests.SearchAsync(Client, query)).Hits;
        foreach (var who in new object[] { new { q = "black", k = 50, explain = true, shopper = "hiker", personalisation = 0.5 },
                                           new { q = "black", k = 50, explain = true, session = "hike-visit", personalisation = 0.5 } })
        {
            var personal = (await ComposedSearchTests.SearchAsync(Client, who)).Hits;
            Assert.Equal(plain.Select(h => h.Id).Order(), personal.Select(h => h.Id).Order());
            foreach (var hit in personal)
            {
                var before = plain.Single(h => h.Id == hit.Id).Score;
                Assert.InRange(hit.Score, before - 1e-6, before * 1.5 + 1e-6);
                var part = hit.Explain!.Value.EnumerateArray().Single(e => e.GetProperty("signal").GetString() == "personal");
                Assert.Equal(0.5, part.GetProperty("weight").GetDouble());
            }
            int Rank(List<ComposedSearchTests.Hit> hits, string id) => hits.FindIndex(h => h.Id == id);
            Assert.True(Rank(personal, "p021") < Rank(plain, "p021"), $"sneakers at {Rank(plain, "p021")} unpersonalised, {Rank(personal, "p021")} for the hiker");
        }
    }

    [Fact]
    public async Task Business_boosts_raise_products_by_their_attributes_within_the_bound()
    {
        var image = await File.ReadAllBytesAsync(Path.Combine(Fixtures.ProductsDirectory, "p001.jpg"));
        var today = DateTimeOffset.UtcNow.ToString("yyyy-MM-dd");
        foreach (var (id, attributes) in new[]
        {
            ("boost-a", new Dictionary<string, string> { ["in_stock"] = "false", ["margin"] = "5%" }),
            ("boost-b", new Dictionary<string, string> { ["in_stock"] = "true", ["margin"] = "40%", ["added"] = today }),
        })
        {
            using var response = await Fixtures.PostJsonAsync(Client, new Platform.Contracts.ProductInfo(id, $"Plain Enamel Camping Cup {id[^1]}", "An enamel cup.", "outdoor", 9m, attributes), image);
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        }
        await Fixtures.WaitIndexedAsync(Client, ["boost-a", "boost-b"], TimeSpan.FromSeconds(60));
        var plain = (await ComposedSearchTests.SearchAsync(Client, new { q = "plain enamel camping cup", k = 5 })).Hits;
        var boosted = (await ComposedSearchTests.SearchAsync(Client, new { q = "plain enamel camping cup", k = 5, explain = true, boosts = new { inStock = 0.5, margin = 0.5, @new = 0.2 } })).Hits;
        double Score(List<ComposedSearchTests.Hit> hits, string id) => hits.Single(h => h.Id == id).Score;
        Assert.Equal("boost-b", boosted[0].Id);
        Assert.Equal(Score(plain, "boost-b") * (1 + 0.5 + 0.5 * 0.4 + 0.2), Score(boosted, "boost-b"), 4);
        Assert.Equal(Score(plain, "boost-a") * (1 + 0.5 * 0.05), Score(boosted, "boost-a"), 4);
        var signals = boosted[0].Explain!.Value.EnumerateArray().Select(e => e.GetProperty("signal").GetString()).ToList();
        Assert.Contains("boost:in-stock", signals);
        Assert.Contains("boost:new", signals);
    }

    [Fact]
    public async Task A_shopper_survives_a_crash_of_the_process()
    {
        await RecordAsync(Event("durable-1", "durable", "p016", "purchase"), Event("durable-2", "durable", "p011", "view"));
        var before = (await GetAsync("/v1/shoppers/durable")).Body;
        await platform.CrashAndRestartAsync();
        var (status, after) = await GetAsync("/v1/shoppers/durable");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(before, after);
        Assert.DoesNotContain(await HitsAsync("/v1/shoppers/durable/recommendations?k=20"), h => h.Id is "p016" or "p011");
    }
}
