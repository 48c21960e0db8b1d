using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Platform.Catalog;
using Platform.Contracts;
using Platform.Inference.Imaging;

namespace Platform.Gateway;

/// <summary>Ingests a catalog file (JSON lines) through the ordinary ingest path, and waits until it is searchable.</summary>
public sealed class CatalogLoader(IngestService ingest, IProductCatalog catalog, CatalogLoadState load, ILogger<CatalogLoader> logger)
{
    /// <summary>Loads <paramref name="file"/>; with <paramref name="onlyWhenEmpty"/>, only into a catalog that holds no product yet.</summary>
    public async Task LoadAsync(string file, bool onlyWhenEmpty, CancellationToken stoppingToken)
    {
        if (onlyWhenEmpty && (await catalog.CountByStatusAsync(stoppingToken)).Values.Sum() > 0)
        {
            logger.LogInformation("The data directory already holds products; the catalog {File} is not loaded again", file);
            load.Complete();
            return;
        }

        var lines = CatalogFile.Read(file).ToList();
        load.Start(lines.Count);
        logger.LogInformation("Loading catalog {File}: {Count} products", file, lines.Count);
        using var reporting = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var reporter = ReportProgressAsync(reporting.Token);

        // Ingest validates by decoding each image: spread that over the cores.
        var accepted = new System.Collections.Concurrent.ConcurrentBag<string>();
        await Parallel.ForEachAsync(lines, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = stoppingToken },
            async (line, ct) =>
            {
                try
                {
                    if (line.Error is not null)
                        throw new InvalidDataException(line.Error);
                    await ingest.IngestAsync(line.Product!, await File.ReadAllBytesAsync(line.ImagePath!, ct), ct);
                    accepted.Add(line.Product!.Id);
                    load.AddAccepted();
                }
                catch (Exception e) when (e is ApiProblem or InvalidDataException or IOException or ImageRejectedException)
                {
                    load.AddRefused();
                    logger.LogWarning("{File} line {Line}: {Reason}", file, line.LineNumber, e.Message);
                }
            });

        // Ready only once the catalog is searchable: wait for every accepted product to be indexed (or fail).
        var waiting = new HashSet<string>(accepted);
        while (waiting.Count > 0 && !stoppingToken.IsCancellationRequested)
        {
            foreach (var id in waiting.ToList())
            {
                var status = (await catalog.GetAsync(id, stoppingToken))?.Status;
                if (status is ProductStatus.Indexed or ProductStatus.Failed)
                {
                    waiting.Remove(id);
                    load.Finished(status == ProductStatus.Failed);
                }
            }
            if (waiting.Count > 0)
                await Task.Delay(200, stoppingToken);
        }
        await reporting.CancelAsync();
        await reporter;
        load.Complete();
        logger.LogInformation("Catalog {File}: {Indexed} indexed, {Failed} failed, {Refused} refused", file, load.Indexed, load.Failed, load.Refused);
    }

    private async Task ReportProgressAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(2));
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                try
                {
                    var counts = await catalog.CountByStatusAsync(cancellationToken);
                    logger.LogInformation("Catalog: {Accepted} of {Total} accepted; {Indexed} products indexed, {Pending} pending",
                        load.Accepted, load.Total, counts[ProductStatus.Indexed], counts[ProductStatus.Pending]);
                }
                catch (CatalogUnavailableException e)
                {
                    // Progress is only a report: the load itself says when the catalog fails it.
                    logger.LogWarning("Catalog: {Accepted} of {Total} accepted; counts unavailable ({Reason})", load.Accepted, load.Total, e.Message);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // the load is over
        }
    }
}

/// <summary>How far the start-up catalog load has got; the process is not ready until it is complete.</summary>
public sealed class CatalogLoadState
{
    private int _total, _accepted, _indexed, _failed, _refused, _complete;

    public int Accepted => Volatile.Read(ref _accepted);

    public int Total => Volatile.Read(ref _total);

    public int Indexed => Volatile.Read(ref _indexed);

    public int Failed => Volatile.Read(ref _failed);

    public int Refused => Volatile.Read(ref _refused);

    public bool IsComplete => Volatile.Read(ref _complete) == 1;

    internal void Start(int total) => Volatile.Write(ref _total, total);

    internal void AddAccepted() => Interlocked.Increment(ref _accepted);

    internal void AddRefused() => Interlocked.Increment(ref _refused);

    internal void Finished(bool failed) => Interlocked.Increment(ref failed ? ref _failed : ref _indexed);

    public void Complete() => Volatile.Write(ref _complete, 1);
}

/// <summary>Ready once the start-up catalog (if any) is searchable.</summary>
internal sealed class CatalogLoadHealthCheck(CatalogLoadState load) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(load.IsComplete
            ? HealthCheckResult.Healthy(load.Total == 0 ? "no catalog to load" : $"catalog loaded: {load.Indexed} indexed, {load.Failed} failed, {load.Refused} refused")
            : HealthCheckResult.Unhealthy($"loading the catalog: {load.Indexed + load.Failed} of {load.Total} indexed"));
}
