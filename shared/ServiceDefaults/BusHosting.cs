using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Platform.ServiceDefaults;

/// <summary>The message bus a host uses (section <c>Bus</c> of the configuration).</summary>
public sealed record BusSettings
{
    public const string InMemory = "in-memory";
    public const string RabbitMq = "rabbitmq";

    /// <summary><c>in-memory</c> (the one-process mode) or <c>rabbitmq</c>.</summary>
    public string Transport { get; init; } = InMemory;

    /// <summary>The broker, for example <c>amqp://user:password@rabbitmq:5672/</c> (<c>Bus:RabbitMq:Uri</c>).</summary>
    public Uri? RabbitMqUri { get; init; }

    /// <summary>How long a publish may wait for the broker to confirm before the caller is told it failed (a broker
    /// that is down would otherwise block it without limit).</summary>
    public TimeSpan PublishTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Ingest batches one encoder process works on at once, per inference device it has.</summary>
    public int ConcurrencyPerDevice { get; init; } = 2;

    /// <summary>How long a queue this process consumes may have messages waiting and none delivered, while the broker
    /// answers, before the process stops to be started fresh (<see cref="BusRecovery"/>; <c>Bus:RecoverAfterSeconds</c>).</summary>
    public TimeSpan RecoverAfter { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How often <see cref="BusRecovery"/> reads the waiting messages of this process's queues.</summary>
    public TimeSpan RecoveryCheck { get; init; } = TimeSpan.FromSeconds(5);

    public bool IsRabbitMq => Transport == RabbitMq;

    /// <summary>Reads <c>Bus:Transport</c>, <c>Bus:RabbitMq:Uri</c>, <c>Bus:PublishTimeoutSeconds</c>, <c>Bus:ConcurrencyPerDevice</c>,
    /// <c>Bus:RecoverAfterSeconds</c>.</summary>
    public static BusSettings From(IConfiguration configuration)
    {
        var section = configuration.GetSection("Bus");
        var transport = (section["Transport"] ?? InMemory).ToLowerInvariant();
        if (transport is not (InMemory or RabbitMq))
            throw new InvalidOperationException($"Bus:Transport '{transport}' is not known; use '{InMemory}' (one process) or '{RabbitMq}'.");
        Uri? uri = null;
        if (transport == RabbitMq)
        {
            var text = section["RabbitMq:Uri"];
            if (string.IsNullOrWhiteSpace(text))
                throw new InvalidOperationException("Bus:RabbitMq:Uri (for example amqp://guest:guest@localhost:5672/) is needed with Bus:Transport 'rabbitmq'.");
            if (!Uri.TryCreate(text, UriKind.Absolute, out uri) || uri.Scheme is not ("amqp" or "amqps" or "rabbitmq" or "rabbitmqs"))
                throw new InvalidOperationException($"Bus:RabbitMq:Uri '{text}' is not an amqp:// or amqps:// address.");
        }
        var timeout = section.GetValue("PublishTimeoutSeconds", 10.0);
        if (timeout is <= 0 or > 600)
            throw new InvalidOperationException($"Bus:PublishTimeoutSeconds must be in (0, 600], got {timeout}.");
        var concurrency = section.GetValue("ConcurrencyPerDevice", 2);
        if (concurrency is < 1 or > 64)
            throw new InvalidOperationException($"Bus:ConcurrencyPerDevice must be 1..64, got {concurrency}.");
        var recoverAfter = section.GetValue("RecoverAfterSeconds", 30.0);
        if (recoverAfter is < 5 or > 3600)
            throw new InvalidOperationException($"Bus:RecoverAfterSeconds must be in [5, 3600], got {recoverAfter}.");
        return new BusSettings
        {
            Transport = transport, RabbitMqUri = uri, PublishTimeout = TimeSpan.FromSeconds(timeout), ConcurrencyPerDevice = concurrency,
            RecoverAfter = TimeSpan.FromSeconds(recoverAfter),
        };
    }
}

/// <summary>
/// The message bus, with the transport named by configuration (<see cref="BusSettings"/>). Each service adds its own
/// consumers through <paramref name="consumers"/>; one call per host.
/// </summary>
/// <remarks>
/// On RabbitMQ: queues and exchanges are durable and messages persistent; a publish completes only once the broker
/// confirms it (publisher confirms), so an acknowledged ingest is on the broker's disk; a message is acknowledged to
/// the broker only after its consumer finished, so a consumer process that dies leaves it to be delivered again to
/// another; a message whose consumer keeps failing after its retries moves to the queue's <c>_error</c> queue, and a
/// <see cref="Fault{T}"/> is published for it.
/// </remarks>
public static class BusHostingExtensions
{
    public static IHostApplicationBuilder AddPlatformBus(this IHostApplicationBuilder builder, params Action<IBusRegistrationConfigurator>[] consumers)
    {
        var settings = BusSettings.From(builder.Configuration);
        builder.Services.AddSingleton(settings);
        builder.Services.AddMassTransit(bus =>
        {
            // MassTransit 8.4+ posts anonymous usage reports to its vendor after start; a platform that merchants run
            // (often with no way out to the internet) does not phone home, so they are off.
            bus.ConfigureUsageTelemetryOptions(options => options.Enabled = false);
            foreach (var add in consumers)
                add(bus);
            if (settings.IsRabbitMq)
            {
                bus.UsingRabbitMq((context, cfg) =>
                {
                    cfg.Host(settings.RabbitMqUri!, host =>
                    {
                        host.PublisherConfirmation = true;
                        host.Heartbeat(TimeSpan.FromSeconds(10));
                        host.RequestedConnectionTimeout(TimeSpan.FromSeconds(5));
                        host.ConnectionName(builder.Environment.ApplicationName);
                    });
                    cfg.ConfigureEndpoints(context);
                });
            }
            else
            {
                bus.UsingInMemory((context, cfg) => cfg.ConfigureEndpoints(context));
            }
        });
        if (settings.IsRabbitMq)
        {
            builder.Services.TryAddSingleton(TimeProvider.System);
            builder.Services.AddSingleton<EndpointActivity>();
            builder.Services.AddReceiveObserver(sp => sp.GetRequiredService<EndpointActivity>());
            builder.Services.AddReceiveEndpointObserver(sp => sp.GetRequiredService<EndpointActivity>());
            builder.Services.AddHostedService<BusRecovery>();
        }
        return builder;
    }
}
