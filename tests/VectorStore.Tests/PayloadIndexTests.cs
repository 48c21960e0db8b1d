using Platform.VectorStore;
using Platform.VectorStore.Embedded;

namespace Platform.VectorStore.Tests;

/// <summary>
/// Filters answered by the embedded engine's payload index agree with reading every payload, including the
/// conditions the index leaves to a record-by-record check (strings too long to index).
/// </summary>
public sealed class PayloadIndexTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("payload-index-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Long_strings_short_strings_numbers_and_booleans_all_filter_correctly()
    {
        using var store = EmbeddedVectorStore.Open(_dir, new EmbeddedStoreOptions { Durable = false });
        await store.CreateCollectionAsync("c", new CollectionSchema(new Dictionary<string, VectorParams> { ["v"] = new(2, Distance.Dot) }));
        var longText = new string('x', 200); // longer than the payload index keeps (128 characters)
        var points = Enumerable.Range(0, 300).Select(i => new VectorPoint($"p{i:D3}",
            new Dictionary<string, float[]> { ["v"] = [1, i] },
            $$"""{"description":"{{(i % 3 == 0 ? longText : "short")}}","tags":["t{{i % 5}}","all"],"n":{{i}},"odd":{{(i % 2 == 1 ? "true" : "false")}}}""")).ToList();
        await store.UpsertAsync("c", points);
        await store.DeleteAsync("c", ["p000", "p003"]);

        Assert.Equal(98, await store.CountAsync("c", Filter.All(new MatchKeyword("description", longText))));
        Assert.Equal(98, await store.CountAsync("c", Filter.All(new MatchAny("description", [longText, "nothing"]))));
        Assert.Equal(200, await store.CountAsync("c", Filter.All(new MatchKeyword("description", "short"))));
        Assert.Equal(298, await store.CountAsync("c", Filter.All(new MatchKeyword("tags", "all"))));
        Assert.Equal(59, await store.CountAsync("c", Filter.All(new MatchKeyword("tags", "t0")))); // 60 less the deleted p000
        Assert.Equal(149, await store.CountAsync("c", Filter.All(new MatchBool("odd", true)))); // 150 less the deleted p003
        Assert.Equal(1, await store.CountAsync("c", Filter.All(new MatchInteger("n", 42))));
        Assert.Equal(10, await store.CountAsync("c", Filter.All(new Range("n", Gte: 100, Lt: 110))));
        Assert.Equal(0, await store.CountAsync("c", Filter.All(new MatchKeyword("missing", "x"))));
        Assert.Equal(298, await store.CountAsync("c", Filter.None(new MatchKeyword("missing", "x"))));

        // Search with the same filters returns exactly the matching points, best first.
        var hits = await store.SearchAsync("c", new SearchRequest("v", new float[] { 0, 1 }, 5)
        {
            Filter = Filter.All(new MatchKeyword("description", longText), new Range("n", Lt: 100)),
        });
        Assert.Equal(["p099", "p096", "p093", "p090", "p087"], hits.Select(h => h.Id));

        // And the same after a restart, when the index is rebuilt from the snapshot.
        store.Dispose();
        using var reopened = EmbeddedVectorStore.Open(_dir);
        Assert.Equal(98, await reopened.CountAsync("c", Filter.All(new MatchKeyword("description", longText))));
        Assert.Equal(59, await reopened.CountAsync("c", Filter.All(new MatchKeyword("tags", "t0"))));
    }
}
