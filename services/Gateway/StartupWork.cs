using MassTransit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Platform.Catalog;
using Platform.Contracts;
using Platform.Inference;
using Platform.Inference.Onnx;
using Platform.Retrieval;

namespace Platform.Gateway;

/// <summary>
/// What a start needs after the bus is up: load the model, rebuild the lexical index from the store, re-send products
/// that were acknowledged but not indexed before the last stop (in-memory messages do not survive a crash), and
/// ingest a catalog file if one was given.
/// </summary>
internal sealed class StartupWork(
    EncoderHost encoders,
    ProductIndex index,
    ProductCatalog catalog,
    IngestService ingest,
    IBus bus,
    PlatformOptions options,
    CatalogLoadState load,
    ILogger<StartupWork> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var loading = encoders.StartLoading();
        await index.EnsureCollectionAsync(stoppingToken);
        RequeueLostVectors(await index.RebuildLexicalAsync(stoppingToken));

        var resent = 0;
        foreach (var pending in catalog.Pending())
        {
            await bus.Publish(pending, stoppingToken);
            resent++;
        }
        if (resent > 0)
            logger.LogInformation("Re-sent {Count} products accepted before the last stop but not yet indexed", resent);

        try
        {
            var encoder = await loading;
            logger.LogInformation("Model {Model} ({Dim}-d) loaded on {Device}, {Options}; {Runtime}", encoder.Package.Name, encoder.Dimension,
                encoder.Device, encoder.Options, OnnxRuntimeInfo.Describe(encoder.Device));
        }
        catch (Exception e)
        {
            logger.LogError(e, "The model failed to load; searches and ingests will fail until it is fixed");
            return;
        }

        if (options.CatalogToLoad is { } file)
            await LoadCatalogAsync(file, stoppingToken);
        else
            load.Complete();
    }

    /// <summary>
    /// Products the catalog calls indexed but the vector store does not hold (a vector store lost or replaced, or a
    /// collection remade for a new model) go back to pending, so the re-send below encodes them again.
    /// </summary>
    private void RequeueLostVectors(IReadOnlySet<string> present)
    {
        var lost = catalog.IndexedIds().Where(id => !present.Contains(id)).ToList();
        if (lost.Count == 0)
            return;
        var requeued = catalog.MarkPending(lost);
        logger.LogWarning("{Count} products marked indexed are not in the vector store{Why}; encoding them again",
            requeued, index.Recreated ? " (its collection was remade for a model of another dimension)" : "");
    }

    private async Task ReportProgressAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(2));
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                var counts = catalog.CountByStatus();
                logger.LogInformation("Catalog: {Accepted} of {Total} accepted; {Indexed} products indexed, {Pending} pending",
                    load.Accepted, load.Total, counts[ProductStatus.Indexed], counts[ProductStatus.Pending]);
            }
        }
        catch (OperationCanceledException)
        {
            // the load is over
        }
    }

    private async Task LoadCatalogAsync(string file, CancellationToken stoppingToken)
    {
        if (options.CatalogOnlyWhenEmpty && catalog.CountByStatus().Values.Sum() > 0)
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
                catch (Exception e) when (e is ApiProblem or InvalidDataException or IOException or Inference.Imaging.ImageRejectedException)
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
                var status = catalog.Get(id)?.Status;
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

    internal void Complete() => Volatile.Write(ref _complete, 1);
}

/// <summary>Ready once the start-up catalog (if any) is searchable.</summary>
internal sealed class CatalogLoadHealthCheck(CatalogLoadState load) : Microsoft.Extensions.Diagnostics.HealthChecks.IHealthCheck
{
    public Task<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult> CheckHealthAsync(
        Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(load.IsComplete
            ? Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Healthy(load.Total == 0 ? "no catalog to load" : $"catalog loaded: {load.Indexed} indexed, {load.Failed} failed, {load.Refused} refused")
            : Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Unhealthy($"loading the catalog: {load.Indexed + load.Failed} of {load.Total} indexed"));
}
