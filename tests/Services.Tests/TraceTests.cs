using System.Diagnostics;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;
using Platform.Catalog;
using Platform.Cli.Hosting;
using Platform.Contracts;
using Platform.Gateway;
using Platform.Tests;

namespace Platform.Services.Tests;

/// <summary>The one-process platform in this test process, with its traces captured in memory.</summary>
[Collection("native")]
public sealed class TraceTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("traces-").FullName;
    private readonly List<Activity> _spans = [];
    private WebApplication _app = null!;
    private HttpClient _http = null!;

    public async ValueTask InitializeAsync()
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [] });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration["Logging:LogLevel:Default"] = "Warning";
        builder.AddOneProcessPlatform(new PlatformOptions { DataDirectory = _dir, ModelDirectory = RepoPaths.InRepo("models", "test-clip") });
        builder.Services.ConfigureOpenTelemetryTracerProvider(t => t.AddInMemoryExporter(_spans));
        _app = builder.Build();
        _app.MapGateway();
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        _http = new HttpClient { BaseAddress = new Uri(address) };
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task One_trace_runs_from_the_ingest_request_through_the_encoder_grain_and_the_bus_to_the_indexer()
    {
        var image = Convert.ToBase64String(await File.ReadAllBytesAsync(RepoPaths.InRepo("tests", "fixtures", "products", "p001.jpg")));
        var response = await _http.PostAsJsonAsync("/v1/products", new { id = "traced", title = "Red Running Shoe", image });
        Assert.Equal(System.Net.HttpStatusCode.Accepted, response.StatusCode);

        var catalog = _app.Services.GetRequiredService<IProductCatalog>();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while ((await catalog.GetAsync("traced"))!.Status != ProductStatus.Indexed && DateTime.UtcNow < deadline)
            await Task.Delay(50);
        Assert.Equal(ProductStatus.Indexed, (await catalog.GetAsync("traced"))!.Status);
        // The indexer marks the product indexed inside its consume, before that span ends: wait for the span too.
        Activity[] spans;
        do
        {
            _app.Services.GetRequiredService<TracerProvider>().ForceFlush();
            lock (_spans)
                spans = [.. _spans];
            if (spans.Any(s => s.Source.Name == "MassTransit" && s.DisplayName.Contains("index-products", StringComparison.Ordinal)))
                break;
            await Task.Delay(50);
        } while (DateTime.UtcNow < deadline);
        var ingest = Assert.Single(spans, s => s.Kind == ActivityKind.Server && s.DisplayName.StartsWith("POST /v1/products", StringComparison.Ordinal));
        var trace = spans.Where(s => s.TraceId == ingest.TraceId).ToList();
        var names = string.Join(" | ", trace.Select(s => $"{s.Source.Name}: {s.DisplayName}"));

        Assert.Contains(trace, s => s.Source.Name == "MassTransit" && s.DisplayName.Contains("encode-products", StringComparison.Ordinal));
        Assert.True(trace.Any(s => s.DisplayName.Contains("IEncoderGrain", StringComparison.Ordinal)), $"no encoder grain call in the trace: {names}");
        Assert.True(trace.Any(s => s.Source.Name == "Platform.Encoder" && s.DisplayName == "encode image" && s.GetTagItem("encoder.batch_size") is int),
            $"no encoder forward in the trace: {names}");
        Assert.True(trace.Any(s => s.Source.Name == "MassTransit" && s.DisplayName.Contains("index-products", StringComparison.Ordinal)),
            $"the indexer's consume is not in the trace: {names}");
    }
}
