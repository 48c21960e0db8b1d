using System.Text.Json.Nodes;

namespace Platform.VectorStore.Tests.Behaviour;

public abstract partial class VectorStoreBehaviour
{
    /// <summary>What the filter tests know about each point, to compute expected matches without any filter code.</summary>
    private sealed record Item(int I, string Colour, double Price, bool InStock, string[] Tags, int[] Ratings, string Brand, int Width, int? Discount, bool NullField, JsonNode? Mixed)
    {
        public string Id => $"f{I}";
    }

    private static readonly List<Item> Items = Enumerable.Range(0, 40).Select(i => new Item(
        I: i,
        Colour: new[] { "red", "green", "blue", "Red" }[i % 4],
        Price: i * 1.5,
        InStock: i % 3 == 0,
        Tags: [$"t{i % 5}", $"u{i % 7}"],
        Ratings: [i % 4, 10 + i % 9],
        Brand: new[] { "acme", "globex", "initech" }[i % 3],
        Width: i % 6,
        Discount: i % 4 == 0 ? i % 10 : null,
        NullField: i % 5 == 0,
        Mixed: (i % 10) switch { 1 => JsonValue.Create("5"), 2 => JsonValue.Create(5), 3 => JsonValue.Create(true), _ => null })).ToList();

    private static string PayloadOf(Item item)
    {
        var payload = new JsonObject
        {
            ["colour"] = item.Colour,
            ["size"] = item.I,
            ["price"] = item.Price,
            ["inStock"] = item.InStock,
            ["tags"] = new JsonArray([.. item.Tags.Select(t => (JsonNode)JsonValue.Create(t))]),
            ["ratings"] = new JsonArray([.. item.Ratings.Select(r => (JsonNode)JsonValue.Create(r))]),
            ["attributes"] = new JsonObject { ["brand"] = item.Brand, ["dims"] = new JsonObject { ["w"] = item.Width } },
        };
        if (item.Discount is { } discount)
            payload["discount"] = discount;
        if (item.NullField)
            payload["nothing"] = null;
        if (item.Mixed is not null)
            payload["mixed"] = item.Mixed.DeepClone();
        return payload.ToJsonString();
    }

    private static readonly Dictionary<string, (Filter Filter, Func<Item, bool> Expected)> FilterCaseTable = new()
    {
        ["keyword is exact and case-sensitive"] = (Filter.All(new MatchKeyword("colour", "red")), x => x.Colour == "red"),
        ["keyword on an array matches any element"] = (Filter.All(new MatchKeyword("tags", "t3")), x => x.Tags.Contains("t3")),
        ["integer"] = (Filter.All(new MatchInteger("size", 7)), x => x.I == 7),
        ["integer on an array matches any element"] = (Filter.All(new MatchInteger("ratings", 12)), x => x.Ratings.Contains(12)),
        ["bool true"] = (Filter.All(new MatchBool("inStock", true)), x => x.InStock),
        ["bool false"] = (Filter.All(new MatchBool("inStock", false)), x => !x.InStock),
        ["any of"] = (Filter.All(new MatchAny("colour", ["green", "Red", "purple"])), x => x.Colour is "green" or "Red"),
        ["any of on an array"] = (Filter.All(new MatchAny("tags", ["u2", "t4"])), x => x.Tags.Contains("u2") || x.Tags.Contains("t4")),
        ["range gt"] = (Filter.All(new Range("price", Gt: 30)), x => x.Price > 30),
        ["range gte"] = (Filter.All(new Range("price", Gte: 30)), x => x.Price >= 30),
        ["range lt"] = (Filter.All(new Range("price", Lt: 6)), x => x.Price < 6),
        ["range lte"] = (Filter.All(new Range("price", Lte: 6)), x => x.Price <= 6),
        ["range with two bounds"] = (Filter.All(new Range("size", Gt: 10, Lte: 20)), x => x.I is > 10 and <= 20),
        ["range with fractional bounds on integers"] = (Filter.All(new Range("size", Gte: 4.5, Lt: 7.5)), x => x.I is 5 or 6 or 7),
        ["range on an array matches any element"] = (Filter.All(new Range("ratings", Gte: 17)), x => x.Ratings.Any(r => r >= 17)),
        ["nested key"] = (Filter.All(new MatchKeyword("attributes.brand", "globex")), x => x.Brand == "globex"),
        ["deeply nested key"] = (Filter.All(new MatchInteger("attributes.dims.w", 3)), x => x.Width == 3),
        ["range on a nested key"] = (Filter.All(new Range("attributes.dims.w", Gte: 4)), x => x.Width >= 4),
        ["a missing field satisfies no range"] = (Filter.All(new Range("discount", Gte: -100)), x => x.Discount is not null),
        ["must not of a missing field holds"] = (Filter.None(new Range("discount", Gte: -100)), x => x.Discount is null),
        ["an unknown field matches nothing"] = (Filter.All(new MatchKeyword("nope", "x")), _ => false),
        ["must not of an unknown field holds everywhere"] = (Filter.None(new MatchInteger("nope", 1)), _ => true),
        ["a null value matches no keyword"] = (Filter.All(new MatchKeyword("nothing", "null")), _ => false),
        ["keyword does not match a number"] = (Filter.All(new MatchKeyword("mixed", "5")), x => x.I % 10 == 1),
        ["integer does not match a string"] = (Filter.All(new MatchInteger("mixed", 5)), x => x.I % 10 == 2),
        ["range skips strings and booleans"] = (Filter.All(new Range("mixed", Gte: 0)), x => x.I % 10 == 2),
        ["bool does not match a string"] = (Filter.All(new MatchBool("mixed", true)), x => x.I % 10 == 3),
        ["must: every condition holds"] = (Filter.All(new MatchKeyword("colour", "red"), new MatchBool("inStock", true)), x => x.Colour == "red" && x.InStock),
        ["should: one condition holds"] = (Filter.Any(new MatchKeyword("colour", "blue"), new MatchInteger("size", 1)), x => x.Colour == "blue" || x.I == 1),
        ["must not: no condition holds"] = (Filter.None(new MatchKeyword("colour", "red"), new MatchKeyword("attributes.brand", "acme")), x => x.Colour != "red" && x.Brand != "acme"),
        ["must and should"] = (new Filter { Must = [new MatchBool("inStock", true)], Should = [new MatchKeyword("colour", "green"), new MatchKeyword("colour", "blue")] },
            x => x.InStock && x.Colour is "green" or "blue"),
        ["must, should and must not"] = (new Filter { Must = [new Range("price", Lt: 40)], Should = [new MatchKeyword("attributes.brand", "acme"), new MatchKeyword("attributes.brand", "initech")], MustNot = [new MatchKeyword("tags", "t0")] },
            x => x.Price < 40 && x.Brand is "acme" or "initech" && !x.Tags.Contains("t0")),
        ["nested filters"] = (Filter.All(Filter.Any(new MatchKeyword("colour", "red"), new MatchKeyword("colour", "Red")), Filter.None(Filter.All(new MatchBool("inStock", true), new MatchKeyword("attributes.brand", "acme")))),
            x => x.Colour is "red" or "Red" && !(x.InStock && x.Brand == "acme")),
        ["should of musts"] = (Filter.Any(Filter.All(new MatchKeyword("colour", "green"), new Range("size", Lt: 10)), Filter.All(new MatchKeyword("colour", "blue"), new Range("size", Gte: 30))),
            x => (x.Colour == "green" && x.I < 10) || (x.Colour == "blue" && x.I >= 30)),
        ["should of must nots"] = (Filter.Any(Filter.None(new MatchKeyword("colour", "red")), new MatchBool("inStock", true)), x => x.Colour != "red" || x.InStock),
        ["an empty filter matches everything"] = (new Filter(), _ => true),
        ["an empty filter nested in must matches everything"] = (Filter.All(new Filter()), _ => true),
        ["has id"] = (Filter.All(new HasId(["f3", "f17", "nope"])), x => x.I is 3 or 17),
        ["has id with a payload condition"] = (Filter.All(new HasId(["f0", "f1", "f2", "f4", "f8"]), new MatchKeyword("colour", "red")), x => x.I is 0 or 4 or 8),
        ["must not has id"] = (Filter.None(new HasId(["f0", "f39"])), x => x.I is not (0 or 39)),
    };

    public static TheoryData<string> FilterCases => [.. FilterCaseTable.Keys];

    [Theory]
    [MemberData(nameof(FilterCases))]
    public async Task Filters_select_exactly_the_points_they_describe_in_count_scroll_search_and_recommend(string filterCase)
    {
        var (filter, expected) = FilterCaseTable[filterCase];
        var c = await NewCollectionAsync(Schema(("v", 4, Distance.Cosine)));
        var rng = new Random(60);
        await Store.UpsertAsync(c, [.. Items.Select(x => Point(x.Id, VectorMath.Gaussian(rng, 4), payload: PayloadOf(x)))]);
        var want = Items.Where(expected).Select(x => x.Id).Order(StringComparer.Ordinal).ToList();
        var query = VectorMath.Gaussian(rng, 4);

        Assert.True(want.Count == await Store.CountAsync(c, filter), $"count: expected {want.Count}, got {await Store.CountAsync(c, filter)}");
        AssertSameIds("scroll", want, (await ScrollAllAsync(c, filter, pageSize: 7)).Select(p => p.Id));
        AssertSameIds("exact search", want, (await Store.SearchAsync(c, new SearchRequest("v", query, 100) { Filter = filter, Exact = true })).Select(h => h.Id));
        AssertSameIds("search", want, (await Store.SearchAsync(c, new SearchRequest("v", query, 100) { Filter = filter })).Select(h => h.Id));
        AssertSameIds("recommend", want, (await Store.RecommendAsync(c, new RecommendRequest("v", 100) { Positive = [RecommendExample.Of(query)], Filter = filter })).Select(h => h.Id));

        static void AssertSameIds(string what, List<string> want, IEnumerable<string> got)
        {
            var gotList = got.ToList();
            var sorted = gotList.Order(StringComparer.Ordinal).ToList();
            Assert.True(want.SequenceEqual(sorted), $"{what}: expected {Ids(want)}, got {Ids(sorted)}");
            Assert.Equal(gotList.Count, gotList.Distinct().Count());
        }
    }

    [Fact]
    public async Task Delete_by_a_combined_filter_keeps_everything_else()
    {
        var (filter, expected) = FilterCaseTable["must, should and must not"];
        var c = await NewCollectionAsync(Schema(("v", 4, Distance.Cosine)));
        var rng = new Random(61);
        await Store.UpsertAsync(c, [.. Items.Select(x => Point(x.Id, VectorMath.Gaussian(rng, 4), payload: PayloadOf(x)))]);

        await Store.DeleteAsync(c, filter);

        var left = (await ScrollAllAsync(c)).Select(p => p.Id).Order(StringComparer.Ordinal);
        Assert.Equal(Items.Where(x => !expected(x)).Select(x => x.Id).Order(StringComparer.Ordinal), left);
    }

    [Fact]
    public async Task A_range_without_bounds_is_a_bad_request()
    {
        var c = await NewCollectionAsync(Schema(("v", 2, Distance.Dot)));
        await Store.UpsertAsync(c, [Point("a", [1f, 1f], payload: """{"n":1}""")]);

        await AssertFailsAsync(VectorStoreErrorKind.BadRequest, async () => await Store.CountAsync(c, Filter.All(new Range("n"))), "n");
        await AssertFailsAsync(VectorStoreErrorKind.BadRequest, async () => await Store.DeleteAsync(c, Filter.All(new Range("n"))));
        Assert.Equal(1, await Store.CountAsync(c));
    }
}
