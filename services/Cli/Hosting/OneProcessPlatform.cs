using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Platform.Encoder;
using Platform.Gateway;
using Platform.Indexer;
using Platform.Inference;
using Platform.Inference.Onnx;
using Platform.Retrieval;
using Platform.Search.Cluster;
using Platform.ServiceDefaults;
using Platform.ServiceDefaults.Cluster;

namespace Platform.Cli.Hosting;

/// <summary>How one all-in-one process is set up.</summary>
public sealed record PlatformOptions
{
    /// <summary>Where the catalog database and the vector store live.</summary>
    public required string DataDirectory { get; init; }

    /// <summary>The model package folder.</summary>
    public required string ModelDirectory { get; init; }

    /// <summary>The inference device: <c>cpu</c>, <c>cuda:0</c>, ...; the silo advertises it as its accelerator.</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>ONNX Runtime's thread and graph settings for the towers.</summary>
    public InferenceOptions Inference { get; init; } = InferenceOptions.Default;

    /// <summary>The largest request body accepted, in bytes.</summary>
    public long MaxBodyBytes { get; init; } = 16 * 1024 * 1024;

    /// <summary>The largest image accepted, in pixels (width × height), checked before decoding.</summary>
    public long MaxImagePixels { get; init; } = 40_000_000;

    /// <summary>A catalog file (JSON lines) to ingest after start-up, or null.</summary>
    public string? CatalogToLoad { get; init; }

    /// <summary>Load <see cref="CatalogToLoad"/> only into an empty data directory (the demo catalog's rule).</summary>
    public bool CatalogOnlyWhenEmpty { get; init; }
}

/// <summary>
/// Every service in one process, as <c>platform serve</c> runs it: one silo co-hosted with the gateway (localhost
/// clustering, advertising the inference device), the in-memory bus, the embedded stores. Each service contributes
/// its own registrations; only the composition and the start-up order live here.
/// </summary>
public static class OneProcessPlatform
{
    public static WebApplicationBuilder AddOneProcessPlatform(this WebApplicationBuilder builder, PlatformOptions options)
    {
        var dimension = ModelPackage.Load(options.ModelDirectory).EmbeddingDim;
        builder.AddServiceDefaults();
        builder.AddPlatformSilo(SiloSettings.From(builder.Configuration) with { Accelerators = [options.Device] });
        builder.AddEncoderService(new EncoderServiceOptions
        {
            ModelDirectory = options.ModelDirectory,
            DataDirectory = options.DataDirectory,
            Devices = [options.Device],
            MaxImagePixels = options.MaxImagePixels,
            Inference = options.Inference,
            Batching = EncoderServiceOptions.BatchingFrom(builder.Configuration),
        });
        // The embedded store by default; VectorStore:Provider=qdrant puts the vectors in a Qdrant server instead.
        builder.Services.AddProductVectorStore(builder.Configuration, options.DataDirectory);
        builder.AddIndexerService(new IndexerServiceOptions(options.DataDirectory, dimension));
        builder.AddRetrievalService(new RetrievalServiceOptions(options.DataDirectory, dimension) { Fusion = FusionOptions.ForModel(options.ModelDirectory) });
        builder.AddGateway(new GatewayOptions
        {
            DataDirectory = options.DataDirectory,
            ModelDirectory = options.ModelDirectory,
            MaxBodyBytes = options.MaxBodyBytes,
            MaxImagePixels = options.MaxImagePixels,
        });
        builder.AddPlatformBus(bus => bus.AddEncoderConsumers(), bus => bus.AddIndexerConsumers());
        builder.Services.AddSingleton(options);
        builder.Services.AddHostedService<PlatformStartup>();
        return builder;
    }
}

/// <summary>
/// The start-up order of the one-process mode, once the silo and the bus are up: the index first (so products whose
/// vectors were lost go back to pending), then the re-send of pending products, then the model, then the catalog
/// file if one was given.
/// </summary>
internal sealed class PlatformStartup(
    IndexStartup index,
    IngestService ingest,
    EncoderDevices encoders,
    CatalogLoader catalog,
    CatalogLoadState load,
    PlatformOptions options) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await index.RunAsync(stoppingToken);
        await ingest.ResendPendingAsync(stoppingToken);
        try
        {
            await Task.WhenAll(encoders.Hosts.Select(h => h.GetAsync(stoppingToken)));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return; // logged by the encoder's warm-up; readiness says why
        }

        if (options.CatalogToLoad is { } file)
            await catalog.LoadAsync(file, options.CatalogOnlyWhenEmpty, stoppingToken);
        else
            load.Complete();
    }
}
