using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Platform.Contracts;

namespace Platform.Distributed.Tests;

/// <summary>
/// The behaviour endpoints on the distributed platform: events through the gateway into shopper grains on the
/// retrieval silo (Redis grain storage, the log in PostgreSQL), aggregates folded by the indexer from RabbitMQ, and a
/// shopper who outlives a kill of the retrieval silo.
/// </summary>
public sealed class BehaviourTests(DistributedCluster cluster) : IClassFixture<DistributedCluster>
{
    private const string RunningShoe = "emoji-1f45f";
    private const string GreenBook = "emoji-1f4d7";
    private const string Socks = "emoji-1f9e6";
    private static readonly string[] Footwear = ["emoji-1fa74", "emoji-1f45e", "emoji-1f97e", "emoji-1f97f", "emoji-1f460", "emoji-1f461", "emoji-1fa70", "emoji-1f462"];

    private static object Event(string eventId, string shopper, string product, string type, string? session = null) =>
        new { eventId, shopperId = shopper, sessionId = session, productId = product, type };

    [Fact]
    public async Task Shoppers_sessions_and_co_occurrence_work_across_processes_and_a_shopper_outlives_a_killed_retrieval_silo()
    {
        cluster.Require();
        var ct = TestContext.Current.CancellationToken;
        // Clothing and shoes, and the books: lines 589-626 and 701-712 of the demo catalog.
        var products = GeneratedProducts.FromDemo(588..626, 700..712);
        var driver = new IngestDriver(cluster.Gateway.Address, products);
        await driver.RunAsync(ct);
        Assert.Empty(driver.Errors);
        await WaitIndexedAsync(products.Select(p => p.Product.Id), ct);

        using var http = new HttpClient { BaseAddress = cluster.Gateway.Address };
        async Task<List<(string Id, string[] Reasons)>> Hits(string path)
        {
            using var response = await http.GetAsync(path, ct);
            var body = await response.Content.ReadAsStringAsync(ct);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode} {body}\n{cluster.Logs()}");
            return [.. JsonDocument.Parse(body).RootElement.GetProperty("results").EnumerateArray()
                .Select(h => (h.GetProperty("id").GetString()!, h.GetProperty("reasons").EnumerateArray().Select(r => r.GetString()!).ToArray()))];
        }
        async Task Record(params object[] events)
        {
            using var response = await http.PostAsJsonAsync("/v1/events", events, ct);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}");
        }

        await Record(Event("d-1", "runner", RunningShoe, "view", "run-visit"), Event("d-2", "runner", RunningShoe, "purchase", "run-visit"));
        var forRunner = await Hits("/v1/shoppers/runner/recommendations?k=5");
        Assert.DoesNotContain(forRunner, h => h.Id == RunningShoe);
        Assert.Contains(forRunner.Take(3), h => Footwear.Contains(h.Id));

        // The composed search, personalised by the shopper grain on the retrieval silo.
        var photo = Convert.ToBase64String(products.Single(p => p.Product.Id == RunningShoe).Image);
        using (var search = await http.PostAsJsonAsync("/v1/search", new { image = photo, q = "boot", k = 5, shopper = "runner", explain = true,
            filter = new { subcategory = "clothing" } }, ct))
        {
            var body = await search.Content.ReadAsStringAsync(ct);
            Assert.True(search.StatusCode == HttpStatusCode.OK, $"{(int)search.StatusCode} {body}");
            var results = JsonDocument.Parse(body).RootElement.GetProperty("results").EnumerateArray().ToList();
            Assert.NotEmpty(results);
            Assert.DoesNotContain(results, r => r.GetProperty("id").GetString() == RunningShoe);
            Assert.All(results, r => Assert.Contains(r.GetProperty("explain").EnumerateArray(), e => e.GetProperty("signal").GetString() == "personal"));
            Assert.Contains(results.Take(3), r => Footwear.Contains(r.GetProperty("id").GetString()));
        }

        var next = await Hits("/v1/sessions/run-visit/next?k=5");
        Assert.DoesNotContain(next, h => h.Id == RunningShoe);
        Assert.Contains(next.Take(3), h => Footwear.Contains(h.Id));

        // Recommendation by example: the green book and the word "blue".
        using (var recommend = await http.PostAsJsonAsync("/v1/recommend", new { positive = new[] { GreenBook }, q = "blue", k = 3 }, ct))
        {
            var body = await recommend.Content.ReadAsStringAsync(ct);
            Assert.True(recommend.StatusCode == HttpStatusCode.OK, $"{(int)recommend.StatusCode} {body}");
            Assert.Contains(JsonDocument.Parse(body).RootElement.GetProperty("results").EnumerateArray(), r => r.GetProperty("id").GetString() == "emoji-1f4d8");
        }

        foreach (var reader in new[] { "reader-a", "reader-b" })
            await Record(Event($"{reader}-1", reader, GreenBook, "view"), Event($"{reader}-2", reader, Socks, "purchase"));
        var together = false;
        for (var waited = 0; !together && waited < 30_000; waited += 250)
        {
            together = (await Hits($"/v1/products/{GreenBook}/similar?k=10")).Any(h =>
                h.Id == Socks && h.Reasons.Any(r => r.StartsWith("often together with 'Green Book'", StringComparison.Ordinal)));
            if (!together)
                await Task.Delay(250, ct);
        }
        Assert.True(together, $"the indexer did not fold the interactions from RabbitMQ within 30 s\n{cluster.Logs()}");

        using (var before = await http.GetAsync("/v1/shoppers/runner", ct))
        {
            var summary = await before.Content.ReadAsStringAsync(ct);
            await cluster.Retrieval.KillAsync();
            cluster.Retrieval.Start();
            await cluster.Retrieval.WaitReadyAsync(TimeSpan.FromMinutes(2));
            string after = "";
            for (var waited = 0; waited < 60_000; waited += 500)
            {
                using var response = await http.GetAsync("/v1/shoppers/runner", ct);
                after = await response.Content.ReadAsStringAsync(ct);
                if (response.StatusCode == HttpStatusCode.OK)
                    break;
                await Task.Delay(500, ct);
            }
            Assert.Equal(summary, after);
        }
        Assert.DoesNotContain(await Hits("/v1/shoppers/runner/recommendations?k=20"), h => h.Id == RunningShoe);
    }

    private async Task WaitIndexedAsync(IEnumerable<string> ids, CancellationToken ct)
    {
        var waiting = ids.ToHashSet();
        for (var waited = 0; waiting.Count > 0 && waited < 180_000; waited += 500)
        {
            var statuses = await cluster.Catalog.StatusesAsync(ct);
            waiting.RemoveWhere(id => statuses.TryGetValue(id, out var status) && status == ProductStatus.Indexed);
            if (waiting.Count > 0)
                await Task.Delay(500, ct);
        }
        Assert.True(waiting.Count == 0, $"{waiting.Count} products not indexed after 3 minutes\n{cluster.Logs()}");
    }
}
