using MassTransit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Platform.Catalog;
using Platform.Inference;
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
    ILogger<StartupWork> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var loading = encoders.StartLoading();
        await index.RebuildLexicalAsync(stoppingToken);

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
            logger.LogInformation("Model {Model} ({Dim}-d) loaded on {Device}", encoder.Package.Name, encoder.Dimension, encoder.Device);
        }
        catch (Exception e)
        {
            logger.LogError(e, "The model failed to load; searches and ingests will fail until it is fixed");
            return;
        }

        if (options.CatalogToLoad is { } file)
            await LoadCatalogAsync(file, stoppingToken);
    }

    private async Task LoadCatalogAsync(string file, CancellationToken stoppingToken)
    {
        int accepted = 0, failed = 0;
        foreach (var line in CatalogFile.Read(file))
        {
            try
            {
                if (line.Error is not null)
                    throw new InvalidDataException(line.Error);
                await ingest.IngestAsync(line.Product!, await File.ReadAllBytesAsync(line.ImagePath!, stoppingToken), stoppingToken);
                accepted++;
            }
            catch (Exception e) when (e is ApiProblem or InvalidDataException or IOException or Inference.Imaging.ImageRejectedException)
            {
                failed++;
                logger.LogWarning("{File} line {Line}: {Reason}", file, line.LineNumber, e.Message);
            }
        }
        logger.LogInformation("Catalog {File}: {Accepted} products accepted, {Failed} refused", file, accepted, failed);
    }
}
