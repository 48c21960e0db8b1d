using Platform.Contracts;

namespace Platform.Catalog.Tests;

/// <summary>
/// What every <see cref="IProductCatalog"/> must do, run against each implementation. Each test gets a fresh store;
/// <see cref="OpenAsync"/> opens another catalog on the same store (a reopen, or a second process).
/// </summary>
public abstract class CatalogBehaviour : IAsyncLifetime
{
    private readonly List<IProductCatalog> _opened = [];

    protected ManualClock Clock { get; } = new(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));

    protected IProductCatalog Catalog { get; private set; } = null!;

    /// <summary>Makes the fresh store this test uses (skipping the test where it cannot be had).</summary>
    protected abstract Task PrepareStoreAsync();

    /// <summary>A new catalog on this test's store, using <see cref="Clock"/>.</summary>
    protected abstract Task<IProductCatalog> CreateAsync();

    protected async Task<IProductCatalog> OpenAsync()
    {
        var catalog = await CreateAsync();
        _opened.Add(catalog);
        return catalog;
    }

    protected async Task CloseAsync(IProductCatalog catalog)
    {
        _opened.Remove(catalog);
        await DisposeCatalogAsync(catalog);
    }

    public virtual async ValueTask InitializeAsync()
    {
        await PrepareStoreAsync();
        Catalog = await OpenAsync();
    }

    public virtual async ValueTask DisposeAsync()
    {
        foreach (var catalog in _opened)
            await DisposeCatalogAsync(catalog);
        GC.SuppressFinalize(this);
    }

    private static async ValueTask DisposeCatalogAsync(IProductCatalog catalog)
    {
        if (catalog is IAsyncDisposable disposable)
            await disposable.DisposeAsync();
    }

    protected static readonly ProductInfo Mug = new("m1", "Red Mug", "a mug", "kitchen", 9.5m,
        new Dictionary<string, string> { ["color"] = "red", ["size"] = "m" });

    [Fact]
    public async Task The_same_content_twice_is_unchanged_and_new_content_is_pending_again()
    {
        Assert.Equal(IngestOutcome.Accepted, await Catalog.RecordIngestAsync(Mug, [1], "h1"));
        Assert.Equal(IngestOutcome.Unchanged, await Catalog.RecordIngestAsync(Mug, [1], "h1"));
        Assert.True(await Catalog.MarkIndexedAsync("m1", "h1"));
        Assert.Equal(IngestOutcome.Unchanged, await Catalog.RecordIngestAsync(Mug, [1], "h1"));
        Assert.Equal(ProductStatus.Indexed, (await Catalog.GetAsync("m1"))!.Status);

        Assert.Equal(IngestOutcome.Accepted, await Catalog.RecordIngestAsync(Mug with { Title = "Big Red Mug" }, [2], "h2"));
        var record = (await Catalog.GetAsync("m1"))!;
        Assert.Equal(ProductStatus.Pending, record.Status);
        Assert.Equal("Big Red Mug", record.Product.Title);
        Assert.Equal("h2", record.ContentHash);
        Assert.Equal([2], await Catalog.ImageToEncodeAsync("m1", "h2"));
    }

    [Fact]
    public async Task Missing_names_each_unknown_id_once_in_the_order_given()
    {
        await Catalog.RecordIngestAsync(Mug, [1], "h1");
        await Catalog.RecordIngestAsync(Mug with { Id = "m2" }, [1], "h2");
        // Ids are case-sensitive: "M1" is not "m1".
        Assert.Equal(["x9", "x1", "M1"], await Catalog.MissingAsync(["x9", "m1", "x1", "x9", "m2", "M1"]));
        Assert.Empty(await Catalog.MissingAsync(["m2", "m1"]));
        Assert.Empty(await Catalog.MissingAsync([]));
    }

    [Fact]
    public async Task A_product_reads_back_as_it_was_ingested()
    {
        await Catalog.RecordIngestAsync(Mug, [9, 8, 7], "h");
        var record = (await Catalog.GetAsync("m1"))!;
        Assert.Equal(Mug.Id, record.Product.Id);
        Assert.Equal(Mug.Title, record.Product.Title);
        Assert.Equal(Mug.Description, record.Product.Description);
        Assert.Equal(Mug.Category, record.Product.Category);
        Assert.Equal(9.5m, record.Product.Price);
        Assert.Equal(Mug.Attributes!.OrderBy(a => a.Key), record.Product.Attributes!.OrderBy(a => a.Key));
        Assert.Equal("h", record.ContentHash);
        Assert.Null(record.FailureReason);
        Assert.Equal(Clock.GetUtcNow(), record.UpdatedAt);
        Assert.Null(await Catalog.GetAsync("nobody"));
    }

    [Fact]
    public async Task Status_changes_for_replaced_content_are_ignored()
    {
        await Catalog.RecordIngestAsync(Mug, [1], "old");
        await Catalog.RecordIngestAsync(Mug with { Title = "New" }, [2], "new");
        Assert.False(await Catalog.MarkIndexedAsync("m1", "old"));
        Assert.False(await Catalog.MarkFailedAsync("m1", "old", "late failure"));
        Assert.False(await Catalog.MarkIndexedAsync("nobody", "old"));
        Assert.Equal(ProductStatus.Pending, (await Catalog.GetAsync("m1"))!.Status);
        Assert.False(await Catalog.IsCurrentAsync("m1", "old"));
        Assert.True(await Catalog.IsCurrentAsync("m1", "new"));
        Assert.False(await Catalog.NeedsEncodingAsync("m1", "old"));
        Assert.True(await Catalog.NeedsEncodingAsync("m1", "new"));
        Assert.Null(await Catalog.ImageToEncodeAsync("m1", "old"));
    }

    [Fact]
    public async Task Indexed_content_needs_no_encoding_and_a_failed_one_can_be_retried_with_the_same_content()
    {
        await Catalog.RecordIngestAsync(Mug, [1], "h");
        Assert.True(await Catalog.MarkFailedAsync("m1", "h", "image rejected"));
        var failed = (await Catalog.GetAsync("m1"))!;
        Assert.Equal(ProductStatus.Failed, failed.Status);
        Assert.Equal("image rejected", failed.FailureReason);
        Assert.True(await Catalog.NeedsEncodingAsync("m1", "h")); // failed is not indexed: a re-sent message may try again

        Assert.Equal(IngestOutcome.Accepted, await Catalog.RecordIngestAsync(Mug, [1], "h"));
        Assert.Null((await Catalog.GetAsync("m1"))!.FailureReason);
        Assert.True(await Catalog.MarkIndexedAsync("m1", "h"));
        Assert.False(await Catalog.NeedsEncodingAsync("m1", "h"));
        Assert.Null(await Catalog.ImageToEncodeAsync("m1", "h"));
        Assert.True(await Catalog.IsCurrentAsync("m1", "h"));
    }

    [Fact]
    public async Task Pending_lists_only_pending_products_oldest_first_and_older_than_leaves_out_the_recent()
    {
        await Catalog.RecordIngestAsync(Mug with { Id = "a" }, [1], "ha");
        Clock.Advance(TimeSpan.FromMinutes(1));
        await Catalog.RecordIngestAsync(Mug with { Id = "b" }, [1], "hb");
        Clock.Advance(TimeSpan.FromMinutes(1));
        await Catalog.RecordIngestAsync(Mug with { Id = "done" }, [1], "hd");
        await Catalog.MarkIndexedAsync("done", "hd");
        await Catalog.RecordIngestAsync(Mug with { Id = "bad" }, [1], "hx");
        await Catalog.MarkFailedAsync("bad", "hx", "no");
        Clock.Advance(TimeSpan.FromMinutes(8));
        await Catalog.RecordIngestAsync(Mug with { Id = "c" }, [1], "hc");

        var pending = await Catalog.PendingAsync().ToListAsync();
        Assert.Equal(["a", "b", "c"], pending.Select(p => p.Product.Id));
        Assert.Equal(["ha", "hb", "hc"], pending.Select(p => p.ContentHash));
        Assert.Equal("red", pending[0].Product.Attributes!["color"]);

        // Now a is 10 minutes old, b 9, c new: a re-sender with a 5 minute bound takes a and b only.
        Assert.Equal(["a", "b"], await Catalog.PendingOlderThanAsync(TimeSpan.FromMinutes(5)).Select(p => p.Product.Id).ToListAsync());
        Assert.Equal(["a"], await Catalog.PendingOlderThanAsync(TimeSpan.FromSeconds(570)).Select(p => p.Product.Id).ToListAsync());
        Assert.Equal(["a", "b", "c"], await Catalog.PendingOlderThanAsync(TimeSpan.Zero).Select(p => p.Product.Id).ToListAsync());
        Assert.Empty(await Catalog.PendingOlderThanAsync(TimeSpan.FromHours(1)).ToListAsync());

        // Changed content starts its wait again.
        Clock.Advance(TimeSpan.FromMinutes(1));
        await Catalog.RecordIngestAsync(Mug with { Id = "a", Title = "changed" }, [2], "ha2");
        Assert.Equal(["b"], await Catalog.PendingOlderThanAsync(TimeSpan.FromMinutes(5)).Select(p => p.Product.Id).ToListAsync());
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await Catalog.PendingOlderThanAsync(TimeSpan.FromSeconds(-1)).ToListAsync());
    }

    [Fact]
    public async Task Pending_lists_every_product_of_a_long_list_once()
    {
        // More than a page of the PostgreSQL catalog, many with the same timestamp: the paging must not skip or repeat.
        var ids = Enumerable.Range(0, 1234).Select(i => $"p{i:D5}").ToList();
        foreach (var chunk in ids.Chunk(100))
        {
            await Task.WhenAll(chunk.Select(id => Catalog.RecordIngestAsync(Mug with { Id = id }, [1], "h" + id)));
            Clock.Advance(TimeSpan.FromMilliseconds(1));
        }
        var pending = await Catalog.PendingAsync().Select(p => p.Product.Id).ToListAsync();
        Assert.Equal(ids.Count, pending.Count);
        Assert.Equal(ids, pending.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Mark_pending_puts_only_indexed_products_back_and_says_how_many()
    {
        foreach (var id in new[] { "i1", "i2", "p1", "f1" })
            await Catalog.RecordIngestAsync(Mug with { Id = id }, [1], "h" + id);
        await Catalog.MarkIndexedAsync("i1", "hi1");
        await Catalog.MarkIndexedAsync("i2", "hi2");
        await Catalog.MarkFailedAsync("f1", "hf1", "bad image");
        Assert.Equal(["i1", "i2"], (await Catalog.IndexedIdsAsync()).Order(StringComparer.Ordinal));

        Clock.Advance(TimeSpan.FromHours(1));
        Assert.Equal(2, await Catalog.MarkPendingAsync(["i1", "i2", "p1", "f1", "i1", "missing"]));
        Assert.Equal(0, await Catalog.MarkPendingAsync([]));
        Assert.Empty(await Catalog.IndexedIdsAsync());
        var pending = await Catalog.PendingAsync().Select(p => p.Product.Id).ToListAsync();
        Assert.Equal(["i1", "i2", "p1"], pending.Order(StringComparer.Ordinal));
        Assert.Equal(ProductStatus.Failed, (await Catalog.GetAsync("f1"))!.Status);
        // Pending again since now: not yet a straggler for the re-sender, unlike p1, pending for an hour.
        Assert.Equal(["p1"], await Catalog.PendingOlderThanAsync(TimeSpan.FromMinutes(5)).Select(p => p.Product.Id).ToListAsync());
        Assert.Equal([1], await Catalog.ImageToEncodeAsync("i1", "hi1"));
    }

    [Fact]
    public async Task Counts_and_statuses_cover_every_product()
    {
        var empty = await Catalog.CountByStatusAsync();
        Assert.All(Enum.GetValues<ProductStatus>(), s => Assert.Equal(0, empty[s]));
        Assert.Empty(await Catalog.StatusesAsync());

        foreach (var id in new[] { "a", "b", "c", "d", "e" })
            await Catalog.RecordIngestAsync(Mug with { Id = id }, [1], "h" + id);
        await Catalog.MarkIndexedAsync("a", "ha");
        await Catalog.MarkIndexedAsync("b", "hb");
        await Catalog.MarkFailedAsync("c", "hc", "no");

        var counts = await Catalog.CountByStatusAsync();
        Assert.Equal(2, counts[ProductStatus.Indexed]);
        Assert.Equal(1, counts[ProductStatus.Failed]);
        Assert.Equal(2, counts[ProductStatus.Pending]);
        var statuses = await Catalog.StatusesAsync();
        Assert.Equal(new Dictionary<string, ProductStatus>
        {
            ["a"] = ProductStatus.Indexed, ["b"] = ProductStatus.Indexed, ["c"] = ProductStatus.Failed,
            ["d"] = ProductStatus.Pending, ["e"] = ProductStatus.Pending,
        }, statuses.OrderBy(s => s.Key).ToDictionary());
    }

    [Fact]
    public async Task Concurrent_ingests_of_the_same_content_are_accepted_exactly_once()
    {
        const int callers = 16;
        var ids = new[] { "x1", "x2", "x3" };
        foreach (var round in new[] { "first", "second" })
        {
            using var gate = new ManualResetEventSlim();
            var ingests = ids.SelectMany(id => Enumerable.Range(0, callers).Select(_ => Task.Run(async () =>
            {
                gate.Wait();
                return (id, await Catalog.RecordIngestAsync(Mug with { Id = id, Title = round }, [1, 2], $"{id}-{round}"));
            }))).ToList();
            gate.Set();
            var outcomes = await Task.WhenAll(ingests);
            foreach (var id in ids)
            {
                Assert.Equal(1, outcomes.Count(o => o.id == id && o.Item2 == IngestOutcome.Accepted));
                Assert.Equal(callers - 1, outcomes.Count(o => o.id == id && o.Item2 == IngestOutcome.Unchanged));
                var record = (await Catalog.GetAsync(id))!;
                Assert.Equal($"{id}-{round}", record.ContentHash);
                Assert.Equal(round, record.Product.Title);
            }
        }
    }

    [Fact]
    public async Task A_reopened_catalog_keeps_everything()
    {
        await Catalog.RecordIngestAsync(Mug, [7, 8, 9], "h");
        await Catalog.RecordIngestAsync(Mug with { Id = "m2" }, [1], "h2");
        await Catalog.MarkIndexedAsync("m2", "h2");
        await Catalog.RecordIngestAsync(Mug with { Id = "m3" }, [3], "h3");
        await Catalog.MarkFailedAsync("m3", "h3", "image rejected: truncated");
        var before = await Catalog.StatusesAsync();
        await CloseAsync(Catalog);

        var reopened = await OpenAsync();
        Assert.Equal(before.OrderBy(s => s.Key), (await reopened.StatusesAsync()).OrderBy(s => s.Key));
        var pending = Assert.Single(await reopened.PendingAsync().ToListAsync());
        Assert.Equal("m1", pending.Product.Id);
        Assert.Equal("h", pending.ContentHash);
        Assert.Equal([7, 8, 9], await reopened.ImageToEncodeAsync("m1", "h"));
        Assert.Null(await reopened.ImageToEncodeAsync("m1", "an older content hash"));
        Assert.Null(await reopened.ImageToEncodeAsync("m2", "h2")); // indexed: nothing to encode
        Assert.Equal("image rejected: truncated", (await reopened.GetAsync("m3"))!.FailureReason);
        Assert.Equal(Clock.GetUtcNow(), (await reopened.GetAsync("m3"))!.UpdatedAt);
        Assert.Equal(1, (await reopened.CountByStatusAsync())[ProductStatus.Indexed]);
        Assert.Equal(IngestOutcome.Unchanged, await reopened.RecordIngestAsync(Mug with { Id = "m2" }, [1], "h2"));
    }

    [Fact]
    public async Task Catalogs_opened_at_once_on_one_store_share_it()
    {
        var catalogs = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(OpenAsync)));
        await Task.WhenAll(catalogs.Select((c, i) => c.RecordIngestAsync(Mug with { Id = $"from-{i}" }, [1], "h")));
        foreach (var catalog in catalogs)
            Assert.Equal(4, (await catalog.CountByStatusAsync())[ProductStatus.Pending]);
        Assert.True(await catalogs[0].MarkIndexedAsync("from-3", "h"));
        Assert.Equal(ProductStatus.Indexed, (await catalogs[3].GetAsync("from-3"))!.Status);
        await Catalog.PingAsync();
    }
}

/// <summary>A clock the test moves by hand.</summary>
public sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}
