using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Platform.Catalog;
using Platform.Catalog.Behaviour;

namespace Platform.Indexer;

/// <summary>
/// Folds into the aggregates the logged interactions whose <c>InteractionRecorded</c> never came (a gateway that died
/// between the log and the bus, and a client that did not send again): every <see cref="Every"/>, those logged more
/// than <see cref="Grace"/> ago and still unfolded. Folding is once per event, so a message that arrives after all
/// changes nothing.
/// </summary>
public sealed class InteractionSweep(IInteractionLog log, TimeProvider time, ILogger<InteractionSweep> logger) : BackgroundService
{
    public static readonly TimeSpan Every = TimeSpan.FromMinutes(1);
    public static readonly TimeSpan Grace = TimeSpan.FromMinutes(5);
    private const int Batch = 1000;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Every, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await SweepAsync(stoppingToken);
            }
            catch (CatalogUnavailableException e)
            {
                logger.LogWarning("Interaction sweep skipped: {Reason}", e.Message);
            }
        }
    }

    /// <summary>One sweep; returns how many interactions it folded.</summary>
    public async Task<int> SweepAsync(CancellationToken cancellationToken)
    {
        var folded = 0;
        while (true)
        {
            var ids = await log.UnaggregatedAsync(time.GetUtcNow() - Grace, Batch, cancellationToken);
            if (ids.Count == 0)
                break;
            folded += await log.AggregateAsync(ids, cancellationToken);
            if (ids.Count < Batch)
                break;
        }
        if (folded > 0)
            logger.LogWarning("Interaction sweep folded {Count} interactions whose InteractionRecorded never arrived", folded);
        return folded;
    }
}
