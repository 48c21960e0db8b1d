using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;
using Platform.Catalog;
using Platform.Contracts;
using Platform.Encoder;
using Platform.Indexer;
using Platform.Inference;
using Platform.Retrieval;
using Platform.Tests;
using Platform.VectorStore;

namespace Platform.Services.Tests;

/// <summary>The ingest consumers on MassTransit's test harness, with the real test model and stores: what they publish.</summary>
[Collection("native")]
public sealed class ConsumerTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("consumers-").FullName;
    private ServiceProvider _provider = null!;
    private ITestHarness _harness = null!;
    private ProductCatalog _catalog = null!;

    public async ValueTask InitializeAsync() =>
        (_provider, _harness, _catalog) = await StartHarnessAsync(RepoPaths.InRepo("models", "test-clip"), _dir);

    /// <summary>The ingest consumers over a model package and fresh stores in <paramref name="dir"/>, started.</summary>
    internal static async Task<(ServiceProvider, ITestHarness, ProductCatalog)> StartHarnessAsync(string packageDir, string dir)
    {
        var host = new EncoderHost(packageDir);
        var catalog = new ProductCatalog(Path.Combine(dir, "catalog.db"));
        var schema = new VectorSchema(new Dictionary<string, int> { ["image"] = host.Package.EmbeddingDim, ["text"] = host.Package.EmbeddingDim });
        var provider = new ServiceCollection()
            .AddLogging()
            .AddSingleton(host)
            .AddSingleton(catalog)
            .AddSingleton<IVectorStore>(new ExactVectorStore(Path.Combine(dir, "vectors.log"), schema))
            .AddSingleton<LexicalIndex>()
            .AddSingleton<ProductIndex>()
            .AddMassTransitTestHarness(x =>
            {
                x.AddConsumer<EncodeProductsConsumer, EncodeProductsConsumerDefinition>();
                x.AddConsumer<IndexProductConsumer, IndexProductConsumerDefinition>();
                x.AddConsumer<RecordIngestFailureConsumer>();
                x.AddConsumer<RecordEncodeFaultConsumer>();
            })
            .BuildServiceProvider(true);
        var harness = provider.GetRequiredService<ITestHarness>();
        await harness.Start();
        return (provider, harness, catalog);
    }

    public async ValueTask DisposeAsync()
    {
        await _harness.Stop();
        await _provider.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    private Task<IngestProduct> RecordAsync(string id, string imageFile, string title = "Test Product") =>
        RecordAsync(_catalog, id, imageFile, title);

    internal static async Task<IngestProduct> RecordAsync(ProductCatalog catalog, string id, string imageFile, string title = "Test Product")
    {
        var image = await File.ReadAllBytesAsync(RepoPaths.InRepo("tests", "fixtures", "products", imageFile));
        var product = new ProductInfo(id, title);
        var hash = ProductCatalog.ComputeContentHash(product, image);
        catalog.RecordIngest(product, image, hash);
        return new IngestProduct(product, image, hash);
    }

    [Fact]
    public async Task A_good_product_is_embedded_then_indexed()
    {
        var ingest = await RecordAsync("good", "p001.jpg");
        await _harness.Bus.Publish(ingest);

        Assert.True(await _harness.Published.Any<ProductIndexed>(m => m.Context.Message.ProductId == "good"));
        var embedded = _harness.Published.Select<ProductEmbedded>().Single(m => m.Context.Message.Product.Id == "good").Context.Message;
        Assert.Equal(128, embedded.ImageEmbedding.Length);
        Assert.Equal(128, embedded.TextEmbedding.Length);
        Assert.Equal("test-clip-random", embedded.Model);
        Assert.Equal(ProductStatus.Indexed, _catalog.Get("good")!.Status);
    }

    [Fact]
    public async Task A_corrupt_image_is_reported_failed_with_the_reason()
    {
        var ingest = await RecordAsync("corrupt", "p001.jpg");
        ingest = ingest with { Image = ingest.Image[..(ingest.Image.Length / 3)] };
        await _harness.Bus.Publish(ingest);

        Assert.True(await _harness.Published.Any<ProductIngestFailed>(m => m.Context.Message.ProductId == "corrupt"));
        Assert.False(await _harness.Published.Any<ProductEmbedded>(m => m.Context.Message.Product.Id == "corrupt"));
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (_catalog.Get("corrupt")!.Status != ProductStatus.Failed && DateTime.UtcNow < deadline)
            await Task.Delay(20);
        Assert.StartsWith("image rejected", _catalog.Get("corrupt")!.FailureReason);
    }

    [Fact]
    public async Task Content_already_indexed_is_not_encoded_again()
    {
        var ingest = await RecordAsync("twice", "p002.jpg");
        await _harness.Bus.Publish(ingest);
        Assert.True(await _harness.Published.Any<ProductIndexed>(m => m.Context.Message.ProductId == "twice"));

        await _harness.Bus.Publish(ingest); // a redelivery
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (_harness.Consumed.Select<IngestProduct>(m => m.Context.Message.ContentHash == ingest.ContentHash).Count() < 2 && DateTime.UtcNow < deadline)
            await Task.Delay(20);
        Assert.Equal(2, _harness.Consumed.Select<IngestProduct>(m => m.Context.Message.ContentHash == ingest.ContentHash).Count());
        await _harness.InactivityTask;
        Assert.Single(_harness.Published.Select<ProductEmbedded>(), m => m.Context.Message.Product.Id == "twice");
    }

    [Fact]
    public async Task Embeddings_of_replaced_content_are_dropped()
    {
        var old = await RecordAsync("replaced", "p003.webp", "Old Title");
        var current = await RecordAsync("replaced", "p004.png", "New Title");
        var vector = new float[128];
        vector[0] = 1;
        await _harness.Bus.Publish(new ProductEmbedded(old.Product, old.ContentHash, "m", vector, vector));
        Assert.True(await _harness.Consumed.Any<ProductEmbedded>(m => m.Context.Message.ContentHash == old.ContentHash));
        await _harness.InactivityTask;
        Assert.False(await _harness.Published.Any<ProductIndexed>(m => m.Context.Message.ContentHash == old.ContentHash));
        Assert.Null(await _provider.GetRequiredService<IVectorStore>().GetAsync("replaced"));
        Assert.Equal(ProductStatus.Pending, _catalog.Get("replaced")!.Status);
        Assert.NotEqual(old.ContentHash, current.ContentHash);
    }
}

/// <summary>An encoder that keeps failing marks the product failed with the error, instead of leaving it pending.</summary>
[Collection("native")]
public sealed class EncoderFaultTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("encoder-fault-").FullName;
    private ServiceProvider _provider = null!;
    private ITestHarness _harness = null!;
    private ProductCatalog _catalog = null!;

    public async ValueTask InitializeAsync()
    {
        // A package whose image tower is really the text tower: every image forward fails inside libtorch.
        var package = Directory.CreateDirectory(Path.Combine(_dir, "broken-model")).FullName;
        foreach (var file in Directory.GetFiles(RepoPaths.InRepo("models", "test-clip")))
            File.Copy(file, Path.Combine(package, Path.GetFileName(file)));
        var manifest = File.ReadAllText(Path.Combine(package, "model.json")).Replace("\"image_encoder.pt\"", "\"text_encoder.pt\"");
        File.WriteAllText(Path.Combine(package, "model.json"), manifest);
        (_provider, _harness, _catalog) = await ConsumerTests.StartHarnessAsync(package, _dir);
    }

    public async ValueTask DisposeAsync()
    {
        await _harness.Stop();
        await _provider.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task A_product_whose_encoding_keeps_failing_is_marked_failed_with_the_error()
    {
        var ingest = await ConsumerTests.RecordAsync(_catalog, "doomed", "p001.jpg");
        await _harness.Bus.Publish(ingest);

        Assert.True(await _harness.Published.Any<Fault<IngestProduct>>());
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (_catalog.Get("doomed")!.Status != ProductStatus.Failed && DateTime.UtcNow < deadline)
            await Task.Delay(20);
        var record = _catalog.Get("doomed")!;
        Assert.Equal(ProductStatus.Failed, record.Status);
        Assert.StartsWith("encoding failed: ", record.FailureReason);
    }
}
