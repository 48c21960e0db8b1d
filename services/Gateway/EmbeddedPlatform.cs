using System.Text.Json.Serialization;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Platform.Catalog;
using Platform.Encoder;
using Platform.Indexer;
using Platform.Inference;
using Platform.Inference.Onnx;
using Platform.Retrieval;
using Platform.ServiceDefaults;
using Platform.VectorStore;
using Platform.VectorStore.Embedded;

namespace Platform.Gateway;

/// <summary>How one all-in-one process is set up.</summary>
public sealed record PlatformOptions
{
    /// <summary>Where the catalog database and the vector store live.</summary>
    public required string DataDirectory { get; init; }

    /// <summary>The model package folder.</summary>
    public required string ModelDirectory { get; init; }

    /// <summary>The inference device: <c>cpu</c>, <c>cuda:0</c>, ...</summary>
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

/// <summary>Wires every service into one process: the embedded mode, with the in-memory bus and local stores.</summary>
public static class EmbeddedPlatform
{
    public static WebApplicationBuilder AddEmbeddedPlatform(this WebApplicationBuilder builder, PlatformOptions options)
    {
        builder.AddServiceDefaults();
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = options.MaxBodyBytes);
        builder.Services.Configure<Microsoft.AspNetCore.Http.Features.FormOptions>(f => f.MultipartBodyLengthLimit = options.MaxBodyBytes);
        builder.Services.ConfigureHttpJsonOptions(j => j.SerializerOptions.Converters.Add(new JsonStringEnumConverter(System.Text.Json.JsonNamingPolicy.CamelCase)));
        builder.Services.AddExceptionHandler<ApiProblemHandler>();
        builder.Services.AddOpenApi();

        var services = builder.Services;
        services.AddSingleton(options);
        var encoderHost = new EncoderHost(options.ModelDirectory, options.Device, options.MaxImagePixels, options.Inference);
        services.AddSingleton(encoderHost);
        services.AddSingleton(new ProductCatalog(Path.Combine(options.DataDirectory, "catalog.db")));
        services.AddSingleton<IVectorStore>(_ => EmbeddedVectorStore.Open(Path.Combine(options.DataDirectory, "vectors")));
        services.AddSingleton(new ProductIndex.Settings(encoderHost.Package.EmbeddingDim));
        services.AddSingleton<LexicalIndex>();
        services.AddSingleton<ProductIndex>();
        services.AddSingleton(new FusionOptions());
        services.AddSingleton<SearchService>();
        services.AddSingleton<IngestService>();

        services.AddMassTransit(bus =>
        {
            bus.AddConsumer<EncodeProductsConsumer, EncodeProductsConsumerDefinition>();
            bus.AddConsumer<IndexProductConsumer, IndexProductConsumerDefinition>();
            bus.AddConsumer<RecordIngestFailureConsumer>();
            bus.AddConsumer<RecordEncodeFaultConsumer>();
            bus.UsingInMemory((context, cfg) => cfg.ConfigureEndpoints(context));
        });

        services.AddSingleton<CatalogLoadState>();
        services.AddHealthChecks()
            .AddCheck<ModelHealthCheck>("model", tags: [ServiceDefaultsExtensions.ReadyTag])
            .AddCheck<CatalogLoadHealthCheck>("catalog", tags: [ServiceDefaultsExtensions.ReadyTag]);
        services.AddHostedService<StartupWork>();
        return builder;
    }

    public static WebApplication MapEmbeddedPlatform(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.MapOpenApi();
        app.MapDefaultEndpoints();
        app.MapGatewayApi();
        return app;
    }
}

/// <summary>Ready once both towers are loaded; unhealthy with the reason when loading failed.</summary>
internal sealed class ModelHealthCheck(EncoderHost host) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(host switch
        {
            { IsLoaded: true } => HealthCheckResult.Healthy($"{host.Package.Name} loaded on {host.Device}"),
            { LoadError: { } error } => HealthCheckResult.Unhealthy($"{host.Package.Name} failed to load: {error.Message}"),
            _ => HealthCheckResult.Unhealthy($"{host.Package.Name} is loading"),
        });
}
