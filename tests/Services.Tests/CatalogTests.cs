using Platform.Catalog;
using Platform.Contracts;

namespace Platform.Services.Tests;

public sealed class CatalogTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("catalog-").FullName;
    private readonly ProductCatalog _catalog;

    public CatalogTests() => _catalog = new ProductCatalog(Path.Combine(_dir, "catalog.db"));

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    private static readonly ProductInfo Mug = new("m1", "Red Mug", null, "kitchen", 9.5m, new Dictionary<string, string> { ["color"] = "red", ["size"] = "m" });

    [Fact]
    public void The_content_hash_ignores_attribute_order_but_not_content()
    {
        var reordered = Mug with { Attributes = new Dictionary<string, string> { ["size"] = "m", ["color"] = "red" } };
        Assert.Equal(ProductCatalog.ComputeContentHash(Mug, [1, 2, 3]), ProductCatalog.ComputeContentHash(reordered, [1, 2, 3]));
        Assert.NotEqual(ProductCatalog.ComputeContentHash(Mug, [1, 2, 3]), ProductCatalog.ComputeContentHash(Mug, [1, 2, 4]));
        Assert.NotEqual(ProductCatalog.ComputeContentHash(Mug, [1]), ProductCatalog.ComputeContentHash(Mug with { Title = "Blue Mug" }, [1]));
    }

    [Fact]
    public void The_same_content_twice_is_unchanged_and_new_content_is_pending_again()
    {
        Assert.Equal(IngestOutcome.Accepted, _catalog.RecordIngest(Mug, [1], "h1"));
        Assert.Equal(IngestOutcome.Unchanged, _catalog.RecordIngest(Mug, [1], "h1"));
        Assert.True(_catalog.MarkIndexed("m1", "h1"));
        Assert.Equal(IngestOutcome.Unchanged, _catalog.RecordIngest(Mug, [1], "h1"));
        Assert.Equal(IngestOutcome.Accepted, _catalog.RecordIngest(Mug with { Title = "Big Red Mug" }, [1], "h2"));
        var record = _catalog.Get("m1")!;
        Assert.Equal(ProductStatus.Pending, record.Status);
        Assert.Equal("Big Red Mug", record.Product.Title);
    }

    [Fact]
    public void Status_changes_for_replaced_content_are_ignored()
    {
        _catalog.RecordIngest(Mug, [1], "old");
        _catalog.RecordIngest(Mug with { Title = "New" }, [2], "new");
        Assert.False(_catalog.MarkIndexed("m1", "old"));
        Assert.False(_catalog.MarkFailed("m1", "old", "late failure"));
        Assert.Equal(ProductStatus.Pending, _catalog.Get("m1")!.Status);
    }

    [Fact]
    public void A_failed_product_can_be_retried_with_the_same_content()
    {
        _catalog.RecordIngest(Mug, [1], "h");
        Assert.True(_catalog.MarkFailed("m1", "h", "image rejected"));
        Assert.Equal("image rejected", _catalog.Get("m1")!.FailureReason);
        Assert.Equal(IngestOutcome.Accepted, _catalog.RecordIngest(Mug, [1], "h"));
        Assert.Null(_catalog.Get("m1")!.FailureReason);
    }

    [Fact]
    public void Pending_products_come_back_after_reopening_and_their_images_stay_with_their_content()
    {
        _catalog.RecordIngest(Mug, [7, 8, 9], "h");
        _catalog.RecordIngest(Mug with { Id = "m2" }, [1], "h2");
        _catalog.MarkIndexed("m2", "h2");
        var reopened = new ProductCatalog(Path.Combine(_dir, "catalog.db"));
        var pending = Assert.Single(reopened.Pending());
        Assert.Equal("m1", pending.Product.Id);
        Assert.Equal("h", pending.ContentHash);
        Assert.Equal([7, 8, 9], reopened.ImageToEncode("m1", "h"));
        Assert.Null(reopened.ImageToEncode("m1", "an older content hash"));
        Assert.Null(reopened.ImageToEncode("m2", "h2")); // indexed: nothing to encode
        Assert.Equal("red", pending.Product.Attributes!["color"]);
        Assert.Equal(1, reopened.CountByStatus()[ProductStatus.Indexed]);
    }
}
