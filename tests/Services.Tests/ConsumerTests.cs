using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Platform.Catalog;
using Platform.Contracts;
using Platform.Encoder;
using Platform.Indexer;
using Platform.Gateway;
using Platform.Inference;
using Platform.Inference.Imaging;
using Platform.Search;
using Platform.ServiceDefaults.Cluster;
using Platform.Tests;

namespace Platform.Services.Tests;

/// <summary>
/// The ingest consumers on MassTransit's test harness, calling a real encoder grain on a silo co-hosted in the test
/// (as <c>platform serve</c> does), over a model package, with fresh real stores in a temp folder.
/// </summary>
public abstract class ConsumerHarness : IAsyncLifetime
{
    protected readonly string Dir = Directory.CreateTempSubdirectory("consumers-").FullName;

    private IHost _host = null!;

    protected IServiceProvider Provider => _host.Services;

    protected ITestHarness Harness { get; private set; } = null!;

    protected IProductCatalog Catalog { get; private set; } = null!;

    /// <summary>The model package the encoder loads.</summary>
    protected abstract string PreparePackage();

    public async ValueTask InitializeAsync()
    {
        var package = PreparePackage();
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddPlatformSilo(new SiloSettings { Accelerators = ["cpu"] });
        builder.AddEncoderService(new EncoderServiceOptions { ModelDirectory = package, DataDirectory = Dir });
        builder.AddIndexerService(new IndexerServiceOptions(Dir, ModelPackage.Load(package).EmbeddingDim));
        builder.Services.AddMassTransitTestHarness(x =>
        {
            x.AddEncoderConsumers();
            x.AddIndexerConsumers();
        });
        _host = builder.Build();
        Catalog = Provider.GetRequiredService<IProductCatalog>();
        Harness = Provider.GetRequiredService<ITestHarness>();
        await Harness.Start(); // starts the host's services too: the silo first, then the bus
    }

    public async ValueTask DisposeAsync()
    {
        await Harness.Stop();
        _host.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(Dir, recursive: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Records a product in the catalog, as the gateway would, and returns the command to publish.</summary>
    protected async Task<IngestProduct> RecordAsync(string id, string imageFile, string title = "Test Product", Func<byte[], byte[]>? damage = null)
    {
        var image = await File.ReadAllBytesAsync(RepoPaths.InRepo("tests", "fixtures", "products", imageFile));
        image = damage?.Invoke(image) ?? image;
        var product = new ProductInfo(id, title);
        var hash = ContentHash.Compute(product, image);
        await Catalog.RecordIngestAsync(product, image, hash);
        return new IngestProduct(product, hash);
    }

    protected async Task WaitForStatusAsync(string id, ProductStatus status)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while ((await Catalog.GetAsync(id))!.Status != status && DateTime.UtcNow < deadline)
            await Task.Delay(20);
        Assert.Equal(status, (await Catalog.GetAsync(id))!.Status);
    }
}

/// <summary>The ingest consumers on MassTransit's test harness, with the real test model and stores: what they publish.</summary>
[Collection("native")]
public sealed class ConsumerTests : ConsumerHarness
{
    protected override string PreparePackage() => RepoPaths.InRepo("models", "test-clip");

    [Fact]
    public async Task A_good_product_is_embedded_then_indexed()
    {
        var ingest = await RecordAsync("good", "p001.jpg");
        await Harness.Bus.Publish(ingest);

        Assert.True(await Harness.Published.Any<ProductIndexed>(m => m.Context.Message.ProductId == "good"));
        var embedded = Harness.Published.Select<ProductEmbedded>().Single(m => m.Context.Message.Product.Id == "good").Context.Message;
        Assert.Equal(128, embedded.ImageEmbedding.Length);
        Assert.Equal(128, embedded.TextEmbedding.Length);
        Assert.Equal("test-clip-random", embedded.Model);
        Assert.Equal(ProductStatus.Indexed, (await Catalog.GetAsync("good"))!.Status);
    }

    [Fact]
    public async Task An_ingest_whose_caller_gave_up_after_the_catalog_write_is_still_indexed()
    {
        var package = ModelPackage.Load(PreparePackage());
        var ingest = new IngestService(Catalog,
            new ImagePreprocessor(new ImagePreprocessOptions(package.ImageSize, package.Mean, package.Std, 40_000_000)),
            new PreprocessedImageCache(), Harness.Bus, Microsoft.Extensions.Logging.Abstractions.NullLogger<IngestService>.Instance);
        var image = await File.ReadAllBytesAsync(RepoPaths.InRepo("tests", "fixtures", "products", "p005.jpg"));
        using var gone = new CancellationTokenSource();
        await gone.CancelAsync(); // the client disconnected while the product was being recorded

        var receipt = await ingest.IngestAsync(new ProductInfo("abandoned", "Blue Kettle"), image, gone.Token);

        Assert.Equal(ProductStatus.Pending, receipt.Status);
        await WaitForStatusAsync("abandoned", ProductStatus.Indexed); // not left pending until the next restart
    }

    [Fact]
    public async Task A_corrupt_image_is_reported_failed_with_the_reason()
    {
        // The gateway refuses such an image; one that reaches the catalog anyway (an older build, a bad disk) fails alone.
        var ingest = await RecordAsync("corrupt", "p001.jpg", damage: image => image[..(image.Length / 3)]);
        await Harness.Bus.Publish(ingest);

        Assert.True(await Harness.Published.Any<ProductIngestFailed>(m => m.Context.Message.ProductId == "corrupt"));
        Assert.False(await Harness.Published.Any<ProductEmbedded>(m => m.Context.Message.Product.Id == "corrupt"));
        await WaitForStatusAsync("corrupt", ProductStatus.Failed);
        Assert.StartsWith("image rejected", (await Catalog.GetAsync("corrupt"))!.FailureReason);
    }

    [Fact]
    public async Task Content_already_indexed_is_not_encoded_again()
    {
        var ingest = await RecordAsync("twice", "p002.jpg");
        await Harness.Bus.Publish(ingest);
        Assert.True(await Harness.Published.Any<ProductIndexed>(m => m.Context.Message.ProductId == "twice"));

        await Harness.Bus.Publish(ingest); // a redelivery
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (Harness.Consumed.Select<IngestProduct>(m => m.Context.Message.ContentHash == ingest.ContentHash).Count() < 2 && DateTime.UtcNow < deadline)
            await Task.Delay(20);
        Assert.Equal(2, Harness.Consumed.Select<IngestProduct>(m => m.Context.Message.ContentHash == ingest.ContentHash).Count());
        await Harness.InactivityTask;
        Assert.Single(Harness.Published.Select<ProductEmbedded>(), m => m.Context.Message.Product.Id == "twice");
    }

    [Fact]
    public async Task Embeddings_of_replaced_content_are_dropped()
    {
        var old = await RecordAsync("replaced", "p003.webp", "Old Title");
        var current = await RecordAsync("replaced", "p004.png", "New Title");
        var vector = new float[128];
        vector[0] = 1;
        await Harness.Bus.Publish(new ProductEmbedded(old.Product, old.ContentHash, "m", vector, vector));
        Assert.True(await Harness.Consumed.Any<ProductEmbedded>(m => m.Context.Message.ContentHash == old.ContentHash));
        await Harness.InactivityTask;
        Assert.False(await Harness.Published.Any<ProductIndexed>(m => m.Context.Message.ContentHash == old.ContentHash));
        Assert.Empty(await Provider.GetRequiredService<ProductIndex>().GetPayloadsAsync(["replaced"]));
        Assert.Equal(ProductStatus.Pending, (await Catalog.GetAsync("replaced"))!.Status);
        Assert.NotEqual(old.ContentHash, current.ContentHash);
    }
}

/// <summary>An encoder that keeps failing marks the product failed with the error, instead of leaving it pending.</summary>
[Collection("native")]
public sealed class EncoderFaultTests : ConsumerHarness
{
    protected override string PreparePackage()
    {
        // test-clip with an image tower that has the right signature (so it loads) but gathers pixels past the end of
        // its input: every image forward fails inside ONNX Runtime (tests/Inference.Tests/fixtures/make_onnx_fixtures.py).
        var package = Directory.CreateDirectory(Path.Combine(Dir, "broken-model")).FullName;
        foreach (var file in Directory.GetFiles(RepoPaths.InRepo("models", "test-clip")))
            File.Copy(file, Path.Combine(package, Path.GetFileName(file)));
        File.Copy(RepoPaths.InRepo("tests", "Inference.Tests", "fixtures", "out_of_range_image_tower.onnx"),
            Path.Combine(package, "image_encoder.onnx"), overwrite: true);
        return package;
    }

    [Fact]
    public async Task A_product_whose_encoding_keeps_failing_is_marked_failed_with_the_error()
    {
        var ingest = await RecordAsync("doomed", "p001.jpg");
        await Harness.Bus.Publish(ingest);

        Assert.True(await Harness.Published.Any<Fault<IngestProduct>>());
        await WaitForStatusAsync("doomed", ProductStatus.Failed);
        var record = (await Catalog.GetAsync("doomed"))!;
        Assert.StartsWith("encoding failed: ", record.FailureReason);
        Assert.Contains("image_encoder.onnx", record.FailureReason); // the forward failed, not the load
    }
}
