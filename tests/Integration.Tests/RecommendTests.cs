using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Platform.Integration.Tests;

/// <summary><c>POST /v1/recommend</c> on the fixture catalog: the contract and every refusal.</summary>
[Collection(CatalogCollection.Name)]
public sealed class RecommendTests(CatalogServerFixture fixture)
{
    private HttpClient Client => fixture.Client;

    private async Task<(HttpStatusCode Status, JsonElement Body)> PostAsync(object body)
    {
        using var response = await Client.PostAsJsonAsync("/v1/recommend", body);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    private static List<(string Id, string[] Reasons)> Hits(JsonElement body) =>
        [.. body.GetProperty("results").EnumerateArray().Select(h => (h.GetProperty("id").GetString()!,
            h.GetProperty("reasons").EnumerateArray().Select(r => r.GetString()!).ToArray()))];

    [Fact]
    public async Task Examples_are_never_returned_and_each_hit_says_why()
    {
        string[] positive = ["p001", "p006"];
        string[] negative = ["p002"];
        foreach (var strategy in new[] { "average", "best" })
        {
            var (status, body) = await PostAsync(new { positive, negative, k = 6, strategy });
            Assert.True(status == HttpStatusCode.OK, body.ToString());
            var hits = Hits(body);
            Assert.Equal(6, hits.Count);
            Assert.DoesNotContain(hits, h => positive.Contains(h.Id) || negative.Contains(h.Id));
            Assert.All(hits, h => Assert.All(h.Reasons, r => Assert.Matches(@"^(looks|described) like the examples \(#\d+, score -?\d\.\d{3}\)$", r)));
        }
    }

    [Fact]
    public async Task Words_alone_or_negatives_alone_with_the_best_strategy_are_enough()
    {
        var (status, body) = await PostAsync(new { q = "red mug" , k = 3 });
        Assert.True(status == HttpStatusCode.OK, body.ToString());
        Assert.Equal(3, Hits(body).Count);

        (status, body) = await PostAsync(new { negative = new[] { "p003" }, strategy = "best", k = 4 });
        Assert.True(status == HttpStatusCode.OK, body.ToString());
        Assert.DoesNotContain(Hits(body), h => h.Id == "p003");
    }

    [Fact]
    public async Task The_same_request_gives_the_same_list()
    {
        var request = new { positive = new[] { "p004" }, q = "bottle", k = 8 };
        Assert.Equal(Hits((await PostAsync(request)).Body).Select(h => h.Id), Hits((await PostAsync(request)).Body).Select(h => h.Id));
    }

    public static TheoryData<string, HttpStatusCode, string> BadBodies => new()
    {
        { """{}""", HttpStatusCode.BadRequest, "give at least one example product" },
        { """{"negative": ["p001"]}""", HttpStatusCode.BadRequest, "use \"strategy\": \"best\"" },
        { """{"positive": ["p001"], "negative": ["p001"]}""", HttpStatusCode.BadRequest, "'p001' is both a positive and a negative example" },
        { """{"positive": ["p001", ""]}""", HttpStatusCode.BadRequest, "an id must not be empty" },
        { """{"positive": ["p001"], "k": 0}""", HttpStatusCode.BadRequest, "'k' must be an integer from 1 to 100, got 0" },
        { """{"positive": ["p001"], "k": "ten"}""", HttpStatusCode.BadRequest, "not a valid recommendation request" },
        { """{"positive": ["p001"], "strategy": "median"}""", HttpStatusCode.BadRequest, "'strategy' must be 'average' or 'best', got 'median'" },
        { """{"positives": ["p001"]}""", HttpStatusCode.BadRequest, "positives" },
        { """{"positive": ["p001", "nope-1", "nope-2"]}""", HttpStatusCode.NotFound, "no product with id 'nope-1', 'nope-2'" },
        { """[1, 2]""", HttpStatusCode.BadRequest, "not a valid recommendation request" },
        { """{"positive": ["p001"]""", HttpStatusCode.BadRequest, "not a valid recommendation request" },
    };

    [Theory]
    [MemberData(nameof(BadBodies))]
    public async Task Bad_requests_say_what_is_wrong(string json, HttpStatusCode status, string detail)
    {
        using var response = await Client.PostAsync("/v1/recommend", new StringContent(json, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {text}");
        Assert.Contains(detail, JsonDocument.Parse(text).RootElement.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Too_many_examples_and_other_media_types_are_refused()
    {
        var (status, body) = await PostAsync(new { positive = Enumerable.Range(0, 33).Select(i => $"x{i}").ToArray() });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("at most 32", body.GetProperty("detail").GetString());

        using var response = await Client.PostAsync("/v1/recommend", new StringContent("positive=p001", Encoding.UTF8, "text/plain"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
    }
}
