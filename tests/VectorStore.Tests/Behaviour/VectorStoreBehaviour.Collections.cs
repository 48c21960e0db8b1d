namespace Platform.VectorStore.Tests.Behaviour;

public abstract partial class VectorStoreBehaviour
{
    private static readonly CollectionSchema ThreeSpaces = Schema(("image", 4, Distance.Cosine), ("text", 3, Distance.Dot), ("geo", 2, Distance.Euclid));

    [Fact]
    public async Task A_created_collection_reports_its_schema()
    {
        var c = await NewCollectionAsync(ThreeSpaces);

        var schema = await Store.GetCollectionAsync(c);

        Assert.NotNull(schema);
        Assert.Equal(3, schema.Vectors.Count);
        Assert.Equal(new VectorParams(4, Distance.Cosine), schema.Vectors["image"]);
        Assert.Equal(new VectorParams(3, Distance.Dot), schema.Vectors["text"]);
        Assert.Equal(new VectorParams(2, Distance.Euclid), schema.Vectors["geo"]);
        Assert.Equal(0, await Store.CountAsync(c));
    }

    [Fact]
    public async Task An_unknown_collection_has_no_schema()
    {
        Assert.Null(await Store.GetCollectionAsync(NewCollectionName()));
    }

    [Fact]
    public async Task Listed_collections_include_created_ones_and_exclude_deleted_ones()
    {
        var a = await NewCollectionAsync(ThreeSpaces);
        var b = await NewCollectionAsync(Schema(("v", 2, Distance.Dot)));

        var listed = await Store.ListCollectionsAsync();
        Assert.Contains(a, listed);
        Assert.Contains(b, listed);

        Assert.True(await Store.DeleteCollectionAsync(a));
        listed = await Store.ListCollectionsAsync();
        Assert.DoesNotContain(a, listed);
        Assert.Contains(b, listed);
        Assert.Null(await Store.GetCollectionAsync(a));
        Assert.False(await Store.DeleteCollectionAsync(a));
    }

    [Fact]
    public async Task Deleting_a_collection_deletes_its_points_and_frees_its_name()
    {
        var c = await NewCollectionAsync(Schema(("v", 2, Distance.Dot)));
        await Store.UpsertAsync(c, [Point("a", [1, 2]), Point("b", [3, 4])]);

        Assert.True(await Store.DeleteCollectionAsync(c));
        Assert.False(await Store.DeleteCollectionAsync(c));

        // The name may be reused with another schema, and holds nothing of the old collection.
        await Store.CreateCollectionAsync(c, Schema(("v", 3, Distance.Euclid)));
        Assert.Equal(new VectorParams(3, Distance.Euclid), (await Store.GetCollectionAsync(c))!.Vectors["v"]);
        Assert.Equal(0, await Store.CountAsync(c));
        Assert.Empty(await Store.GetAsync(c, ["a", "b"]));
        Assert.Empty(await Store.SearchAsync(c, new SearchRequest("v", new float[] { 1, 2, 3 }, 10) { Exact = true }));
    }

    [Fact]
    public async Task Creating_a_collection_again_with_the_same_schema_changes_nothing()
    {
        var c = await NewCollectionAsync(ThreeSpaces);
        await Store.UpsertAsync(c, [Point("p", "{\"k\":1}", ("text", [1f, 2f, 3f]))]);

        // An equal schema built anew, its vectors listed in another order.
        await Store.CreateCollectionAsync(c, Schema(("geo", 2, Distance.Euclid), ("text", 3, Distance.Dot), ("image", 4, Distance.Cosine)));

        Assert.Equal(1, await Store.CountAsync(c));
        Assert.True((await Store.GetCollectionAsync(c))!.SameAs(ThreeSpaces));
    }

    public static TheoryData<string> DifferentSchemas => ["size", "distance", "extra vector", "missing vector", "renamed vector"];

    [Theory]
    [MemberData(nameof(DifferentSchemas))]
    public async Task Creating_a_collection_again_with_a_different_schema_is_a_conflict(string difference)
    {
        var c = await NewCollectionAsync(ThreeSpaces);
        var other = difference switch
        {
            "size" => Schema(("image", 5, Distance.Cosine), ("text", 3, Distance.Dot), ("geo", 2, Distance.Euclid)),
            "distance" => Schema(("image", 4, Distance.Dot), ("text", 3, Distance.Dot), ("geo", 2, Distance.Euclid)),
            "extra vector" => Schema(("image", 4, Distance.Cosine), ("text", 3, Distance.Dot), ("geo", 2, Distance.Euclid), ("more", 2, Distance.Dot)),
            "missing vector" => Schema(("image", 4, Distance.Cosine), ("text", 3, Distance.Dot)),
            _ => Schema(("image", 4, Distance.Cosine), ("words", 3, Distance.Dot), ("geo", 2, Distance.Euclid)),
        };

        await AssertFailsAsync(VectorStoreErrorKind.Conflict, async () => await Store.CreateCollectionAsync(c, other), c);

        Assert.True((await Store.GetCollectionAsync(c))!.SameAs(ThreeSpaces), "a refused create changed the schema");
    }

    public static TheoryData<string> BadCollectionNames => ["", "has space", "slash/inside", "dot.name", "ünicode", new string('a', 65)];

    [Theory]
    [MemberData(nameof(BadCollectionNames))]
    public async Task A_collection_name_outside_the_rule_is_a_bad_request(string name)
    {
        await AssertFailsAsync(VectorStoreErrorKind.BadRequest, async () => await Store.CreateCollectionAsync(name, ThreeSpaces));
        Assert.DoesNotContain(name, await Store.ListCollectionsAsync());
    }

    [Fact]
    public async Task A_collection_name_of_64_allowed_characters_is_fine()
    {
        var name = NewCollectionName();
        name = (name + "_-" + new string('z', 64))[..64];
        // Registered for clean-up under its real name too.
        _collections.Add(name);

        await Store.CreateCollectionAsync(name, ThreeSpaces);

        Assert.NotNull(await Store.GetCollectionAsync(name));
    }

    public static TheoryData<string> UnusableSchemas => ["no vectors", "size 0", "size too big", "bad vector name", "negative size"];

    [Theory]
    [MemberData(nameof(UnusableSchemas))]
    public async Task An_unusable_schema_is_a_bad_request_and_creates_nothing(string problem)
    {
        var c = NewCollectionName();
        var schema = problem switch
        {
            "no vectors" => new CollectionSchema(new Dictionary<string, VectorParams>()),
            "size 0" => Schema(("v", 0, Distance.Dot)),
            "size too big" => Schema(("v", CollectionSchema.MaxDimension + 1, Distance.Dot)),
            "negative size" => Schema(("v", -3, Distance.Dot)),
            _ => Schema(("bad name", 3, Distance.Dot)),
        };

        await AssertFailsAsync(VectorStoreErrorKind.BadRequest, async () => await Store.CreateCollectionAsync(c, schema));

        Assert.Null(await Store.GetCollectionAsync(c));
    }

    [Fact]
    public async Task Every_operation_on_an_unknown_collection_is_not_found_and_names_it()
    {
        var c = NewCollectionName();
        var vector = new float[] { 1, 2, 3 };

        await AssertFailsAsync(VectorStoreErrorKind.NotFound, async () => await Store.UpsertAsync(c, [Point("a", vector)]), c);
        await AssertFailsAsync(VectorStoreErrorKind.NotFound, async () => await Store.DeleteAsync(c, ["a"]), c);
        await AssertFailsAsync(VectorStoreErrorKind.NotFound, async () => await Store.DeleteAsync(c, Filter.All(new MatchKeyword("k", "v"))), c);
        await AssertFailsAsync(VectorStoreErrorKind.NotFound, async () => await Store.GetAsync(c, ["a"]), c);
        await AssertFailsAsync(VectorStoreErrorKind.NotFound, async () => await Store.CountAsync(c), c);
        await AssertFailsAsync(VectorStoreErrorKind.NotFound, async () => await Store.ScrollAsync(c, new ScrollRequest()), c);
        await AssertFailsAsync(VectorStoreErrorKind.NotFound, async () => await Store.SearchAsync(c, new SearchRequest("v", vector, 3)), c);
        await AssertFailsAsync(VectorStoreErrorKind.NotFound, async () => await Store.RecommendAsync(c, new RecommendRequest("v", 3) { Positive = [RecommendExample.Of(vector)] }), c);
        Assert.Null(await Store.GetCollectionAsync(c));
    }
}
