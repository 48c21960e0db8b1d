using Platform.Catalog;
using Platform.Contracts;

namespace Platform.Services.Tests;

public sealed class CatalogTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("catalog-").FullName;
    private readonly SqliteProductCatalog _catalog;

    public CatalogTests() => _catalog = new SqliteProductCatalog(Path.Combine(_dir, "catalog.db"));

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
        Assert.Equal(ContentHash.Compute(Mug, [1, 2, 3]), ContentHash.Compute(reordered, [1, 2, 3]));
        Assert.NotEqual(ContentHash.Compute(Mug, [1, 2, 3]), ContentHash.Compute(Mug, [1, 2, 4]));
        Assert.NotEqual(ContentHash.Compute(Mug, [1]), ContentHash.Compute(Mug with { Title = "Blue Mug" }, [1]));
    }

    [Fact]
    public void The_catalog_health_check_is_tagged_with_the_tag_readiness_reads() =>
        Assert.Equal(Platform.ServiceDefaults.ServiceDefaultsExtensions.ReadyTag, CatalogRegistration.ReadyTag);

    [Fact]
    public async Task The_same_content_twice_is_unchanged_and_new_content_is_pending_again()
    {
        Assert.Equal(IngestOutcome.Accepted, await _catalog.RecordIngestAsync(Mug, [1], "h1"));
        Assert.Equal(IngestOutcome.Unchanged, await _catalog.RecordIngestAsync(Mug, [1], "h1"));
        Assert.True(await _catalog.MarkIndexedAsync("m1", "h1"));
        Assert.Equal(IngestOutcome.Unchanged, await _catalog.RecordIngestAsync(Mug, [1], "h1"));
        Assert.Equal(IngestOutcome.Accepted, await _catalog.RecordIngestAsync(Mug with { Title = "Big Red Mug" }, [1], "h2"));
        var record = (await _catalog.GetAsync("m1"))!;
        Assert.Equal(ProductStatus.Pending, record.Status);
        Assert.Equal("Big Red Mug", record.Product.Title);
    }

    [Fact]
    public async Task Status_changes_for_replaced_content_are_ignored()
    {
        await _catalog.RecordIngestAsync(Mug, [1], "old");
        await _catalog.RecordIngestAsync(Mug with { Title = "New" }, [2], "new");
        Assert.False(await _catalog.MarkIndexedAsync("m1", "old"));
        Assert.False(await _catalog.MarkFailedAsync("m1", "old", "late failure"));
        Assert.Equal(ProductStatus.Pending, (await _catalog.GetAsync("m1"))!.Status);
    }

    [Fact]
    public async Task A_failed_product_can_be_retried_with_the_same_content()
    {
        await _catalog.RecordIngestAsync(Mug, [1], "h");
        Assert.True(await _catalog.MarkFailedAsync("m1", "h", "image rejected"));
        Assert.Equal("image rejected", (await _catalog.GetAsync("m1"))!.FailureReason);
        Assert.Equal(IngestOutcome.Accepted, await _catalog.RecordIngestAsync(Mug, [1], "h"));
        Assert.Null((await _catalog.GetAsync("m1"))!.FailureReason);
    }

    [Fact]
    public async Task Pending_products_come_back_after_reopening_and_their_images_stay_with_their_content()
    {
        await _catalog.RecordIngestAsync(Mug, [7, 8, 9], "h");
        await _catalog.RecordIngestAsync(Mug with { Id = "m2" }, [1], "h2");
        await _catalog.MarkIndexedAsync("m2", "h2");
        var reopened = new SqliteProductCatalog(Path.Combine(_dir, "catalog.db"));
        var pending = Assert.Single(await reopened.PendingAsync().ToListAsync());
        Assert.Equal("m1", pending.Product.Id);
        Assert.Equal("h", pending.ContentHash);
        Assert.Equal([7, 8, 9], await reopened.ImageToEncodeAsync("m1", "h"));
        Assert.Null(await reopened.ImageToEncodeAsync("m1", "an older content hash"));
        Assert.Null(await reopened.ImageToEncodeAsync("m2", "h2")); // indexed: nothing to encode
        Assert.Equal("red", pending.Product.Attributes!["color"]);
        Assert.Equal(1, (await reopened.CountByStatusAsync())[ProductStatus.Indexed]);
    }
}
