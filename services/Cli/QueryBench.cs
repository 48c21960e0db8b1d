using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Platform.Catalog;
using Platform.Cli.Hosting;
using Platform.Contracts.Grains;
using Platform.Gateway;

namespace Platform.Cli;

/// <summary>
/// <c>platform bench query</c>: text searches per second and latency percentiles through the retrieval grain, at
/// several numbers of concurrent callers, with the encoder's batching on and off in the same run. Each mode runs in
/// a fresh one-process platform over the same data directory (the demo catalog, loaded on first use).
/// </summary>
public static class QueryBench
{
    public static Command Create()
    {
        var concurrency = new Option<int[]>("--concurrency") { Description = "Concurrent callers (repeatable)", DefaultValueFactory = _ => [1, 8, 32, 64], AllowMultipleArgumentsPerToken = true };
        var seconds = new Option<double>("--seconds") { Description = "Measuring time per case", DefaultValueFactory = _ => 5 };
        var batching = new Option<string[]>("--batching") { Description = "Batching modes to compare: on, off", DefaultValueFactory = _ => ["on", "off"], AllowMultipleArgumentsPerToken = true };
        var rounds = new Option<int>("--rounds") { Description = "Rounds, alternating the modes", DefaultValueFactory = _ => 1 };
        var data = new Option<DirectoryInfo?>("--data") { Description = "Data directory (default: a temporary one, removed after)" };
        var model = new Option<DirectoryInfo?>("--model") { Description = "Model package folder (default: the bundled one)" };
        var json = new Option<bool>("--json") { Description = "One JSON line per case" };
        var duringIngest = new Option<bool>("--during-ingest") { Description = "Measure each case again while a catalog load runs (the demo catalog ingested under new ids)" };
        var command = new Command("query", "Measure text-query throughput and latency through the retrieval grain") { concurrency, seconds, batching, rounds, data, model, json, duringIngest };
        command.SetAction(async (result, ct) =>
        {
            var modes = result.GetValue(batching)!.Select(m => m switch
            {
                "on" => true,
                "off" => false,
                _ => throw new ArgumentException($"--batching takes on or off, not '{m}'"),
            }).ToList();
            var temporary = result.GetValue(data) is null;
            var dataDir = result.GetValue(data)?.FullName ?? Directory.CreateTempSubdirectory("bench-query-").FullName;
            var catalogFile = DemoCatalogLocator.Default() ?? throw new FileNotFoundException("the bundled demo catalog is missing");
            var products = CatalogFile.Read(catalogFile).Where(l => l.Product is not null).ToList();
            var queries = products.SelectMany(l => new[] { l.Product!.Title, l.Product.Attributes?.GetValueOrDefault("title_zh") })
                .OfType<string>().ToArray();
            var asJson = result.GetValue(json);
            try
            {
                for (var round = 1; round <= result.GetValue(rounds); round++)
                {
                    foreach (var on in modes)
                    {
                        await using var app = await StartAsync(dataDir, result.GetValue(model)?.FullName ?? ModelLocator.Default(), catalogFile, on, ct);
                        var grains = app.Services.GetRequiredService<IGrainFactory>();
                        await RunAsync(grains, queries, 1, TimeSpan.FromSeconds(1), ct); // warm-up
                        var duration = TimeSpan.FromSeconds(result.GetValue(seconds));
                        foreach (var callers in result.GetValue(concurrency)!)
                        {
                            var (qps, latencies) = await RunAsync(grains, queries, callers, duration, ct);
                            Report(asJson, round, on, callers, qps, latencies, ingestPerSecond: null);
                            if (!result.GetValue(duringIngest))
                                continue;
                            using var stopLoad = CancellationTokenSource.CreateLinkedTokenSource(ct);
                            var load = IngestLoadAsync(app.Services, products, stopLoad.Token);
                            await Task.Delay(TimeSpan.FromSeconds(1), ct); // let the encoder's queue fill
                            (qps, latencies) = await RunAsync(grains, queries, callers, duration, ct);
                            await stopLoad.CancelAsync();
                            var accepted = await load;
                            Report(asJson, round, on, callers, qps, latencies, ingestPerSecond: accepted / (duration.TotalSeconds + 1));
                            await WaitUntilIndexedAsync(app.Services, ct); // the next case starts idle again
                        }
                        await app.StopAsync(ct);
                    }
                }
            }
            finally
            {
                if (temporary)
                    Directory.Delete(dataDir, recursive: true);
            }
            return 0;
        });
        return command;
    }

    private static async Task<WebApplication> StartAsync(string dataDir, string modelDir, string catalog, bool batching, CancellationToken ct)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration["Logging:LogLevel:Default"] = "Warning";
        builder.Configuration["Encoder:Batching:Enabled"] = batching ? "true" : "false";
        builder.AddOneProcessPlatform(new PlatformOptions
        {
            DataDirectory = dataDir,
            ModelDirectory = modelDir,
            CatalogToLoad = catalog,
            CatalogOnlyWhenEmpty = true,
        });
        var app = builder.Build();
        app.MapGateway();
        await app.StartAsync(ct);
        var load = app.Services.GetRequiredService<CatalogLoadState>();
        while (!load.IsComplete)
            await Task.Delay(100, ct);
        return app;
    }

    private static async Task<(double Qps, double[] LatenciesMs)> RunAsync(IGrainFactory grains, string[] queries, int callers, TimeSpan duration, CancellationToken ct)
    {
        var retrieval = grains.GetGrain<IRetrievalGrain>(0);
        var latencies = new List<double>[callers];
        var next = 0;
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, callers).Select(c => Task.Run(async () =>
        {
            var mine = latencies[c] = [];
            while (watch.Elapsed < duration && !ct.IsCancellationRequested)
            {
                var query = queries[(uint)Interlocked.Increment(ref next) % (uint)queries.Length];
                var start = Stopwatch.GetTimestamp();
                await retrieval.SearchText(query, 10);
                mine.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
        }, ct)));
        var all = latencies.SelectMany(l => l).Order().ToArray();
        return (all.Length / watch.Elapsed.TotalSeconds, all);
    }

    /// <summary>Ingests the demo catalog's products again under new ids, two at a time, until stopped; returns how many were accepted.</summary>
    private static async Task<int> IngestLoadAsync(IServiceProvider services, IReadOnlyList<CatalogLine> lines, CancellationToken stop)
    {
        var ingest = services.GetRequiredService<IngestService>();
        var images = lines.Select(l => File.ReadAllBytes(l.ImagePath!)).ToList();
        var run = Guid.NewGuid().ToString("N")[..8];
        var accepted = 0;
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var n = Interlocked.Increment(ref next);
                var line = lines[n % lines.Count];
                try
                {
                    await ingest.IngestAsync(line.Product! with { Id = $"load-{run}-{n}" }, images[n % lines.Count], stop);
                    Interlocked.Increment(ref accepted);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                }
            }
        })));
        return accepted;
    }

    private static async Task WaitUntilIndexedAsync(IServiceProvider services, CancellationToken ct)
    {
        var catalog = services.GetRequiredService<IProductCatalog>();
        while ((await catalog.CountByStatusAsync(ct))[Contracts.ProductStatus.Pending] > 0)
            await Task.Delay(100, ct);
    }

    private static void Report(bool asJson, int round, bool batching, int callers, double qps, double[] sorted, double? ingestPerSecond)
    {
        double P(double q) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
        if (asJson)
        {
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                round, batching, concurrency = callers, searches_per_second = qps, p50_ms = P(0.50), p95_ms = P(0.95), p99_ms = P(0.99), searches = sorted.Length,
                ingest_accepted_per_second = ingestPerSecond,
            }));
        }
        else
        {
            var load = ingestPerSecond is { } rate ? $"  during a catalog load ({rate:F0} products/s accepted)" : "";
            Console.WriteLine($"round {round} batching {(batching ? "on " : "off")} callers {callers,3}: {qps,8:F1} searches/s  p50 {P(0.50),7:F2} ms  p95 {P(0.95),7:F2} ms  p99 {P(0.99),7:F2} ms  ({sorted.Length} searches){load}");
        }
    }
}
