using System.Collections.Concurrent;
using MassTransit;

namespace Platform.ServiceDefaults;

/// <summary>
/// What this process's receive endpoints have done lately: which queues it consumes, and when each last became ready
/// or had a message delivered. <see cref="BusRecovery"/> compares this with what waits on the broker. The bus's own
/// health says "Ready" even for an endpoint whose consumer is gone.
/// </summary>
public sealed class EndpointActivity(TimeProvider time) : IReceiveObserver, IReceiveEndpointObserver
{
    private readonly ConcurrentDictionary<string, DateTimeOffset> _lastActive = new(StringComparer.Ordinal);

    /// <summary>The durable queues this process consumes, each with the last time its endpoint became ready or
    /// received a message.</summary>
    public IReadOnlyDictionary<string, DateTimeOffset> Queues => _lastActive;

    /// <summary>The queue an endpoint reads, or null for the bus's own temporary endpoint (auto-deleted with the
    /// connection; nothing waits there for long).</summary>
    public static string? QueueOf(Uri inputAddress)
    {
        var query = inputAddress.Query;
        if (query.Contains("temporary=true", StringComparison.OrdinalIgnoreCase) || query.Contains("autodelete=true", StringComparison.OrdinalIgnoreCase))
            return null;
        var name = inputAddress.AbsolutePath.TrimEnd('/');
        var slash = name.LastIndexOf('/');
        name = Uri.UnescapeDataString(slash >= 0 ? name[(slash + 1)..] : name);
        return name.Length == 0 ? null : name;
    }

    private void Touch(Uri? inputAddress)
    {
        if (inputAddress is not null && QueueOf(inputAddress) is { } queue)
            _lastActive[queue] = time.GetUtcNow();
    }

    Task IReceiveObserver.PreReceive(ReceiveContext context)
    {
        Touch(context.InputAddress);
        return Task.CompletedTask;
    }

    Task IReceiveObserver.PostReceive(ReceiveContext context) => Task.CompletedTask;

    Task IReceiveObserver.PostConsume<T>(ConsumeContext<T> context, TimeSpan duration, string consumerType) => Task.CompletedTask;

    Task IReceiveObserver.ConsumeFault<T>(ConsumeContext<T> context, TimeSpan duration, string consumerType, Exception exception) => Task.CompletedTask;

    Task IReceiveObserver.ReceiveFault(ReceiveContext context, Exception exception) => Task.CompletedTask;

    Task IReceiveEndpointObserver.Ready(ReceiveEndpointReady ready)
    {
        Touch(ready.InputAddress);
        return Task.CompletedTask;
    }

    Task IReceiveEndpointObserver.Stopping(ReceiveEndpointStopping stopping) => Task.CompletedTask;

    Task IReceiveEndpointObserver.Completed(ReceiveEndpointCompleted completed) => Task.CompletedTask;

    Task IReceiveEndpointObserver.Faulted(ReceiveEndpointFaulted faulted) => Task.CompletedTask;
}
