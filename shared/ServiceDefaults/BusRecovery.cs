using MassTransit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;

namespace Platform.ServiceDefaults;

/// <summary>
/// Stops the process (exit code 75) when one of its queues has messages waiting but its endpoint has taken none for
/// <see cref="BusSettings.RecoverAfter"/> while the broker answers, so that its supervisor starts it fresh.
/// </summary>
/// <remarks>
/// MassTransit reconnects by itself after the broker restarts, but not always. An endpoint whose consumer was still
/// working on messages when its channel closed can stay shut, while the bus's health still says "Ready", and then
/// its queue has no consumer from this process until the process restarts. The fault tests saw this after a RabbitMQ
/// restart, for the encoders' batch consumer and for the indexer's: 1,500 products stayed in <c>encode-products</c>
/// or <c>index-products</c>. Stopping and starting the bus in the process did not bring the consumer back either
/// (MassTransit answered "the host was already started"). So this watchdog asks the broker. Every
/// <see cref="BusSettings.RecoveryCheck"/> it reads the ready-message count of each queue this process consumes
/// (<see cref="EndpointActivity"/>) with a passive declare on a connection of its own. When such a queue has
/// messages and its endpoint has had no delivery for <see cref="BusSettings.RecoverAfter"/>, the process stops with
/// exit code 75 (EX_TEMPFAIL). Kubernetes and compose's restart policy then start it again, and so does any loop that
/// runs it again on a non-zero exit. Nothing is lost by this. The broker delivers again whatever the dead channel left
/// unacknowledged, and the consumers are idempotent by product id and content hash. A broker that does not answer is
/// left alone: the bus reconnects by itself once it does.
/// </remarks>
public sealed class BusRecovery(BusSettings settings, EndpointActivity activity, IHostApplicationLifetime lifetime,
    ILogger<BusRecovery> logger, TimeProvider time) : BackgroundService
{
    /// <summary>The exit code of a process stopped because its bus stopped consuming (EX_TEMPFAIL: start it again).</summary>
    public const int StuckExitCode = 75;

    /// <summary>How long a graceful stop may take before the process exits anyway (a stuck endpoint can hold up the
    /// bus's own stop).</summary>
    private static readonly TimeSpan ExitDeadline = TimeSpan.FromSeconds(45);

    private IConnection? _connection;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(settings.RecoveryCheck, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var waiting = await WaitingMessagesAsync(stoppingToken);
                if (waiting is null)
                    continue; // the broker does not answer: the bus reconnects by itself once it does
                var now = time.GetUtcNow();
                var idle = new List<string>();
                foreach (var (queue, count) in waiting)
                {
                    if (count > 0 && activity.Queues.TryGetValue(queue, out var last) && now - last >= settings.RecoverAfter)
                        idle.Add($"{queue} ({count} waiting, no delivery for {(now - last).TotalSeconds:F0} s)");
                }
                if (idle.Count == 0)
                    continue;
                Stop($"the broker answers but this process takes nothing from {string.Join(", ", idle)}");
                return;
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

    private void Stop(string reason)
    {
        logger.LogCritical("The bus stopped consuming: {Reason}. Stopping the process with exit code {Code} so that it is started fresh", reason, StuckExitCode);
        Environment.ExitCode = StuckExitCode;
        lifetime.StopApplication();
        // The bus's own stop may wait on the stuck endpoint: past the deadline the process goes anyway.
        _ = Task.Delay(ExitDeadline).ContinueWith(_ => Environment.Exit(StuckExitCode), TaskScheduler.Default);
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
