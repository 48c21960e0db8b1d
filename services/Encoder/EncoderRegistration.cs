using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Platform.Catalog;
using Platform.Encoder.Batching;
using Platform.Inference;
using Platform.Inference.Onnx;
using Platform.ServiceDefaults;

namespace Platform.Encoder;

/// <summary>What the encoder service needs to know: its model, the devices it encodes on, and how it batches.</summary>
public sealed record EncoderServiceOptions
{
    public required string ModelDirectory { get; init; }

    public required string DataDirectory { get; init; }

    /// <summary>The devices to load the model on (<c>cpu</c>, <c>cuda:0</c>, ...): one encoder grain each.</summary>
    public IReadOnlyList<string> Devices { get; init; } = ["cpu"];

    public long MaxImagePixels { get; init; } = 40_000_000;

    /// <summary>ONNX Runtime's thread and graph settings for the towers.</summary>
    public InferenceOptions Inference { get; init; } = InferenceOptions.Default;

    public BatchingOptions Batching { get; init; } = new();

    /// <summary>Batching settings from <c>Encoder:Batching</c> (<c>Enabled</c>, <c>MaxBatchSize</c>, <c>MaxWaitMs</c>, <c>ConcurrentForwards</c>).</summary>
    public static BatchingOptions BatchingFrom(IConfiguration configuration)
    {
        var section = configuration.GetSection("Encoder:Batching");
        var defaults = new BatchingOptions();
        return new BatchingOptions
        {
            Enabled = section.GetValue("Enabled", defaults.Enabled),
            MaxBatchSize = section.GetValue("MaxBatchSize", defaults.MaxBatchSize),
            MaxWait = TimeSpan.FromMilliseconds(section.GetValue("MaxWaitMs", defaults.MaxWait.TotalMilliseconds)),
            ConcurrentForwards = section.GetValue("ConcurrentForwards", defaults.ConcurrentForwards),
        };
    }
}

public static class EncoderRegistration
{
    /// <summary>
    /// The encoder service: the model on each device (loaded in the background at start), the encoder grains that
    /// batch over them, and the ingest consumer. The host's silo must advertise the same devices.
    /// </summary>
    public static IHostApplicationBuilder AddEncoderService(this IHostApplicationBuilder builder, EncoderServiceOptions options)
    {
        options.Batching.Validate();
        if (options.Devices.Count == 0)
            throw new ArgumentException("the encoder service needs at least one device", nameof(options));
        var services = builder.Services;
        foreach (var device in options.Devices.Distinct(StringComparer.Ordinal))
            services.AddSingleton(new EncoderHost(options.ModelDirectory, device, options.MaxImagePixels, options.Inference));
        services.AddSingleton<EncoderDevices>();
        services.AddSingleton(options.Batching);
        services.TryAddSingleton<PreprocessedImageCache>();
        services.AddProductCatalog(builder.Configuration, options.DataDirectory);
        services.AddHostedService<EncoderWarmup>();
        services.AddHealthChecks().AddCheck<ModelHealthCheck>("model", tags: [ServiceDefaultsExtensions.ReadyTag]);
        return builder;
    }

    /// <summary>The encoder's consumers, for the host's one bus registration.</summary>
    public static void AddEncoderConsumers(this IBusRegistrationConfigurator bus) =>
        bus.AddConsumer<EncodeProductsConsumer, EncodeProductsConsumerDefinition>();
}

/// <summary>Loads the model on every device at start, so the first query does not wait for it.</summary>
internal sealed class EncoderWarmup(EncoderDevices devices, ILogger<EncoderWarmup> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        logger.LogInformation("Images: {Vips}", Inference.Imaging.VipsRuntime.Describe());
        foreach (var host in devices.Hosts)
        {
            try
            {
                var encoder = await host.GetAsync(stoppingToken);
                logger.LogInformation("Model {Model} ({Dim}-d) loaded on {Device}, {Options}; {Runtime}", encoder.Package.Name, encoder.Dimension,
                    encoder.Device, encoder.Options, OnnxRuntimeInfo.Describe(encoder.Device));
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogError(e, "The model failed to load on {Device}; searches and ingests will fail until it is fixed", host.Device);
            }
        }
    }
}

/// <summary>Ready once the model is loaded on every device; unhealthy with the reason when loading failed.</summary>
internal sealed class ModelHealthCheck(EncoderDevices devices) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        foreach (var host in devices.Hosts)
        {
            if (host.LoadError is { } error)
                return Task.FromResult(HealthCheckResult.Unhealthy($"{host.Package.Name} failed to load on {host.Device}: {error.Message}"));
            if (!host.IsLoaded)
                return Task.FromResult(HealthCheckResult.Unhealthy($"{host.Package.Name} is loading on {host.Device}"));
        }
        var first = devices.Hosts.First();
        return Task.FromResult(HealthCheckResult.Healthy($"{first.Package.Name} loaded on {string.Join(", ", devices.Devices)}"));
    }
}
