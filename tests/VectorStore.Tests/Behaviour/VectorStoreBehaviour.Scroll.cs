namespace Platform.VectorStore.Tests.Behaviour;

public abstract partial class VectorStoreBehaviour
{
    /// <summary>Ids whose ordinal order differs from a case-insensitive or numeric one.</summary>
    private static List<VectorPoint> ScrollPoints(int count)
    {
        var rng = new Random(11);
        const string chars = "aAbBzZ019-_";
        var ids = new HashSet<string>(StringComparer.Ordinal);
        while (ids.Count < count)
            ids.Add(new string(Enumerable.Range(0, rng.Next(1, 6)).Select(_ => chars[rng.Next(chars.Length)]).ToArray()));
        return ids.Select((id, i) => Point(id, $$"""{"i":{{i}},"odd":{{(i % 2 == 1 ? "true" : "false")}}}""", ("text", [i, 1f, 0f]))).ToList();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(100)]
    [InlineData(1000)]
    public async Task Scroll_visits_every_point_exactly_once(int pageSize)
    {
        var c = await NewCollectionAsync(TwoSpaces);
        var points = ScrollPoints(100);
        await Store.UpsertAsync(c, points);

        var pages = await ScrollPagesAsync(c, new ScrollRequest(pageSize));

        var ids = pages.SelectMany(p => p).Select(p => p.Id).ToList();
        var duplicate = ids.GroupBy(id => id).FirstOrDefault(g => g.Count() > 1);
        Assert.True(duplicate is null, $"scroll returned {duplicate?.Key} {duplicate?.Count()} times");
        Assert.Equal(points.Select(p => p.Id).Order(StringComparer.Ordinal), ids.Order(StringComparer.Ordinal));
        Assert.All(pages.SkipLast(1), page => Assert.Equal(pageSize, page.Count));
        if (ScrollsInOrdinalIdOrder)
            Assert.Equal(points.Select(p => p.Id).Order(StringComparer.Ordinal), ids);
        var byId = points.ToDictionary(p => p.Id);
        foreach (var point in pages.SelectMany(p => p))
        {
            Payloads.AssertSame(byId[point.Id].Payload, point.Payload, point.Id);
            Assert.Empty(point.Vectors);
        }
    }

    [Fact]
    public async Task Scroll_starts_at_its_offset_inclusive()
    {
        var c = await NewCollectionAsync(TwoSpaces);
        var points = ScrollPoints(50);
        await Store.UpsertAsync(c, points);
        var all = (await ScrollPagesAsync(c, new ScrollRequest(1000))).Single().Select(p => p.Id).ToList();

        var fromTenth = await Store.ScrollAsync(c, new ScrollRequest(5) { Offset = all[10] });

        Assert.Equal(all.Skip(10).Take(5), fromTenth.Points.Select(p => p.Id));
        Assert.Equal(all[15], fromTenth.NextOffset);
        if (ScrollsInOrdinalIdOrder)
        {
            // An offset that is no point's id starts at the next id in order.
            var between = all[20] + "\u0001";
            Assert.True(string.CompareOrdinal(between, all[21]) < 0);
            var page = await Store.ScrollAsync(c, new ScrollRequest(3) { Offset = between });
            Assert.Equal(all.Skip(21).Take(3), page.Points.Select(p => p.Id));
        }
    }

    [Fact]
    public async Task Scroll_with_a_filter_visits_only_the_matching_points()
    {
        var c = await NewCollectionAsync(TwoSpaces);
        var points = ScrollPoints(100);
        await Store.UpsertAsync(c, points);

        var pages = await ScrollPagesAsync(c, new ScrollRequest(6) { Filter = Filter.All(new MatchBool("odd", true)) });

        var ids = pages.SelectMany(p => p).Select(p => p.Id).ToList();
        var expected = points.Where((_, i) => i % 2 == 1).Select(p => p.Id).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(expected, ids.Order(StringComparer.Ordinal));
        Assert.Equal(expected.Count, ids.Distinct().Count());
        if (ScrollsInOrdinalIdOrder)
            Assert.Equal(expected, ids);
    }

    [Fact]
    public async Task Scroll_returns_vectors_only_when_asked()
    {
        var c = await NewCollectionAsync(TwoSpaces);
        await Store.UpsertAsync(c, [
            Point("a", "{}", ("image", [0f, 0f, 0f, 2f]), ("text", [1f, 2f, 3f])),
            Point("b", "{}", ("text", [4f, 5f, 6f])),
        ]);

        var without = await Store.ScrollAsync(c, new ScrollRequest(10));
        var with = await Store.ScrollAsync(c, new ScrollRequest(10) { WithVectors = true });

        Assert.All(without.Points, p => Assert.Empty(p.Vectors));
        var byId = with.Points.ToDictionary(p => p.Id);
        AssertVectorsEqual(new Dictionary<string, float[]> { ["image"] = [0f, 0f, 0f, 1f], ["text"] = [1f, 2f, 3f] }, byId["a"].Vectors, "a", 1e-6f);
        AssertVectorsEqual(new Dictionary<string, float[]> { ["text"] = [4f, 5f, 6f] }, byId["b"].Vectors, "b");
        Assert.Null(with.NextOffset);
    }

    [Fact]
    public async Task Scrolling_an_empty_collection_gives_one_empty_page()
    {
        var c = await NewCollectionAsync(TwoSpaces);

        var page = await Store.ScrollAsync(c, new ScrollRequest(10));

        Assert.Empty(page.Points);
        Assert.Null(page.NextOffset);
    }
}
