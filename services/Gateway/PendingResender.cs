using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Platform.Gateway;

/// <summary>When a pending product is handed to the bus again (section <c>Ingest</c>).</summary>
/// <param name="After">Pending this long without being indexed (<c>Ingest:ResendAfterMinutes</c>, 10).</param>
/// <param name="Every">How often the catalog is looked at (<c>Ingest:ResendCheckSeconds</c>, 60).</param>
public sealed record ResendOptions(TimeSpan After, TimeSpan Every)
{
    public static ResendOptions From(IConfiguration configuration) => new(
        TimeSpan.FromMinutes(configuration.GetValue("Ingest:ResendAfterMinutes", 10.0)),
        TimeSpan.FromSeconds(configuration.GetValue("Ingest:ResendCheckSeconds", 60.0)));
}

/// <summary>
/// The backstop for products recorded but never handed to the bus (its publish timed out and the merchant did not
/// send it again) or lost on the way (a broker that lost its disk): products pending for longer than
/// <see cref="ResendOptions.After"/> are sent again, each at most once per that time, so a long backlog that is
/// merely slow is not multiplied. Consumers are idempotent, so a product that was only slow is not encoded twice.
/// </summary>
internal sealed class PendingResender(IngestService ingest, ResendOptions options, ILogger<PendingResender> logger) : BackgroundService
{
    private readonly Dictionary<string, DateTimeOffset> _resentAt = new(StringComparer.Ordinal);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Every);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                var resent = await ingest.ResendStalePendingAsync(options.After, _resentAt, stoppingToken);
                if (resent > 0)
                    logger.LogWarning("Re-sent {Count} products pending for more than {Minutes} min", resent, options.After.TotalMinutes);
            }
            catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                // The catalog or the bus is down: the next tick tries again.
                logger.LogWarning("Re-sending stale pending products failed: {Error}", e.Message);
            }
        }
    }
}
