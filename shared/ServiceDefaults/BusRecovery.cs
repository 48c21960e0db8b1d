using MassTransit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;

namespace Platform.ServiceDefaults;

/// <summary>
/// Restarts the bus when one of this process's queues has messages waiting but its endpoint has taken none for
/// <see cref="BusSettings.RecoverAfter"/>, or when the bus has been unhealthy that long, while the broker answers.
/// </summary>
/// <remarks>
/// MassTransit reconnects by itself after the broker restarts, but not always. An endpoint whose consumer was still
/// working on messages when its channel closed can stay shut, while the bus's health still says "Ready", and then
/// its queue has no consumer until the process restarts. The fault tests saw this with the encoders' and the
/// indexer's batch consumers after a RabbitMQ restart: 1,500 products stayed in <c>encode-products</c> or
/// <c>index-products</c>. So this watchdog asks the broker itself. Every <see cref="BusSettings.RecoveryCheck"/> it
/// reads the ready-message count of each queue this process consumes (<see cref="EndpointActivity"/>) with a passive
/// declare on a connection of its own. When such a queue has messages and its endpoint has had no delivery for
/// <see cref="BusSettings.RecoverAfter"/>, the watchdog stops the bus (waiting a bounded time for work in flight) and
/// starts it again. Nothing is lost by this. The broker delivers again whatever a dead channel left unacknowledged,
/// and the consumers are idempotent by product id and content hash. If the bus cannot be started again, the process
/// stops with exit code 75, so that a supervisor (Kubernetes, compose's restart policy) starts it fresh rather than
/// leaving it alive and idle.
/// </remarks>
public sealed class BusRecovery(IBusControl bus, BusSettings settings, EndpointActivity activity, IHostApplicationLifetime lifetime,
    ILogger<BusRecovery> logger, TimeProvider time) : BackgroundService
{
    /// <summary>The exit code of a process whose bus could not be started again (EX_TEMPFAIL: try again).</summary>
    public const int RestartFailedExitCode = 75;

    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(30);

    private IConnection? _connection;

    /// <summary>How many times this process restarted its bus.</summary>
    public int Restarts { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        DateTimeOffset? unhealthySince = null;
        using var timer = new PeriodicTimer(settings.RecoveryCheck, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var now = time.GetUtcNow();
                var health = bus.CheckHealth();
                if (health.Status == BusHealthStatus.Healthy)
                {
                    if (unhealthySince is not null)
                        logger.LogInformation("The bus is healthy again");
                    unhealthySince = null;
                }
                else if (unhealthySince is null)
                {
                    logger.LogInformation("The bus is {Status}: {Description}", health.Status, health.Description);
                    unhealthySince = now;
                }

                var waiting = await WaitingMessagesAsync(stoppingToken);
                if (waiting is null)
                    continue; // the broker does not answer: the bus reconnects by itself once it does
                var idle = waiting
                    .Where(q => q.Value > 0 && activity.Queues.TryGetValue(q.Key, out var last) && now - last >= settings.RecoverAfter)
                    .Select(q => $"{q.Key} ({q.Value} waiting, no delivery for {(now - activity.Queues[q.Key]).TotalSeconds:F0} s)")
                    .ToList();
                var unhealthyTooLong = unhealthySince is { } since && now - since >= settings.RecoverAfter;
                if (idle.Count == 0 && !unhealthyTooLong)
                    continue;

                logger.LogWarning("Restarting the bus: the broker answers but {Reason}",
                    idle.Count > 0 ? $"this process takes nothing from {string.Join(", ", idle)}"
                        : $"the bus has been {health.Status} for {(now - unhealthySince!.Value).TotalSeconds:F0} s ({health.Description})");
                if (!await RestartAsync(stoppingToken))
                    return;
                unhealthySince = null;
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // the host is stopping
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (_connection is not null)
            await _connection.DisposeAsync();
    }

    private async Task<bool> RestartAsync(CancellationToken stoppingToken)
    {
        using (var stop = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken))
        {
            stop.CancelAfter(StopTimeout);
            try
            {
                await bus.StopAsync(stop.Token);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning(e, "The bus did not stop cleanly within {Seconds} s; starting it again anyway", StopTimeout.TotalSeconds);
            }
        }
        try
        {
            await bus.StartAsync(stoppingToken);
            activity.Reset();
            Restarts++;
            logger.LogInformation("The bus was started again (restart {Count} of this process)", Restarts);
            return true;
        }
        catch (Exception e) when (!stoppingToken.IsCancellationRequested)
        {
            logger.LogCritical(e, "The bus could not be started again; stopping the process (exit code {Code}) so that it is started fresh", RestartFailedExitCode);
            Environment.ExitCode = RestartFailedExitCode;
            lifetime.StopApplication();
            return false;
        }
    }

    /// <summary>Ready messages in each queue this process consumes, by passive declares on the watchdog's own
    /// connection; null when the broker cannot be reached.</summary>
    private async Task<Dictionary<string, uint>?> WaitingMessagesAsync(CancellationToken cancellationToken)
    {
        var queues = activity.Queues.Keys.ToList();
        var waiting = new Dictionary<string, uint>(StringComparer.Ordinal);
        if (queues.Count == 0)
            return waiting;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        try
        {
            if (_connection is not { IsOpen: true })
            {
                if (_connection is not null)
                    await _connection.DisposeAsync();
                _connection = null;
                var factory = new ConnectionFactory
                {
                    Uri = AmqpUri(settings.RabbitMqUri!),
                    AutomaticRecoveryEnabled = false,
                    RequestedConnectionTimeout = TimeSpan.FromSeconds(5),
                    ClientProvidedName = "platform bus-recovery",
                };
                _connection = await factory.CreateConnectionAsync(timeout.Token);
            }
            foreach (var queue in queues)
            {
                // A queue that does not exist closes the channel it was asked on: one channel per queue.
                await using var channel = await _connection.CreateChannelAsync(cancellationToken: timeout.Token);
                try
                {
                    var declared = await channel.QueueDeclarePassiveAsync(queue, timeout.Token);
                    waiting[queue] = declared.MessageCount;
                }
                catch (RabbitMQ.Client.Exceptions.OperationInterruptedException)
                {
                    // not (yet) declared: nothing waits in it
                }
            }
            return waiting;
        }
        catch (Exception e) when (e is RabbitMQ.Client.Exceptions.BrokerUnreachableException or RabbitMQ.Client.Exceptions.AlreadyClosedException
            or System.Net.Sockets.SocketException or IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>MassTransit also accepts rabbitmq:// addresses; the client library only amqp:// ones.</summary>
    public static Uri AmqpUri(Uri uri) => uri.Scheme switch
    {
        "rabbitmq" => new UriBuilder(uri) { Scheme = "amqp", Port = uri.IsDefaultPort || uri.Port <= 0 ? 5672 : uri.Port }.Uri,
        "rabbitmqs" => new UriBuilder(uri) { Scheme = "amqps", Port = uri.IsDefaultPort || uri.Port <= 0 ? 5671 : uri.Port }.Uri,
        _ => uri,
    };
}
