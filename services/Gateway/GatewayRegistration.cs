using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Platform.Catalog;
using Platform.Inference;
using Platform.Inference.Imaging;
using Platform.ServiceDefaults;

namespace Platform.Gateway;

/// <summary>What the gateway needs to know: where the catalog is, the model (for its image preprocessing), limits.</summary>
public sealed record GatewayOptions
{
    public required string DataDirectory { get; init; }

    /// <summary>The model package whose preprocessing validates images (only its manifest is read here).</summary>
    public required string ModelDirectory { get; init; }

    /// <summary>The largest request body accepted, in bytes.</summary>
    public long MaxBodyBytes { get; init; } = 16 * 1024 * 1024;

    /// <summary>The largest image accepted, in pixels (width × height), checked before decoding.</summary>
    public long MaxImagePixels { get; init; } = 40_000_000;
}

public static class GatewayRegistration
{
    /// <summary>The HTTP API: ingest into the catalog and the bus, search through the retrieval grain, health, OpenAPI.</summary>
    public static WebApplicationBuilder AddGateway(this WebApplicationBuilder builder, GatewayOptions options)
    {
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = options.MaxBodyBytes);
        var services = builder.Services;
        services.Configure<Microsoft.AspNetCore.Http.Features.FormOptions>(f => f.MultipartBodyLengthLimit = options.MaxBodyBytes);
        services.ConfigureHttpJsonOptions(j => j.SerializerOptions.Converters.Add(new JsonStringEnumConverter(System.Text.Json.JsonNamingPolicy.CamelCase)));
        services.AddExceptionHandler<ApiProblemHandler>();
        services.AddOpenApi();

        var package = ModelPackage.Describe(options.ModelDirectory);
        services.AddSingleton(new ImagePreprocessor(new ImagePreprocessOptions(package.ImageSize, package.Mean, package.Std, options.MaxImagePixels)));
        services.TryAddSingleton<PreprocessedImageCache>();
        services.AddProductCatalog(builder.Configuration, options.DataDirectory);
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<IngestService>();
        services.AddSingleton(ResendOptions.From(builder.Configuration));
        services.AddHostedService<PendingResender>();
        services.AddSingleton<CatalogLoadState>();
        services.AddSingleton<CatalogLoader>();
        // "catalog" is the store's own check (AddProductCatalog); this one says whether the start-up load is done.
        services.AddHealthChecks().AddCheck<CatalogLoadHealthCheck>("catalog-load", tags: [ServiceDefaultsExtensions.ReadyTag]);
        return builder;
    }

    public static WebApplication MapGateway(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.MapOpenApi();
        app.MapDefaultEndpoints();
        app.MapGatewayApi();
        return app;
    }
}

/// <summary>The gateway's own start when it runs alone: re-send what was accepted but not indexed, then load the catalog file if one is set.</summary>
internal sealed class GatewayStartup(IngestService ingest, CatalogLoader catalog, CatalogLoadState load, GatewayStartupOptions options,
    Microsoft.Extensions.Logging.ILogger<GatewayStartup> logger) : Microsoft.Extensions.Hosting.BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Microsoft.Extensions.Logging.LoggerExtensions.LogInformation(logger, "Images: {Vips}", VipsRuntime.Describe());
        await ingest.ResendPendingAsync(stoppingToken);
        if (options.CatalogFile is { } file)
            await catalog.LoadAsync(file, onlyWhenEmpty: false, stoppingToken);
        else
            load.Complete();
    }
}
