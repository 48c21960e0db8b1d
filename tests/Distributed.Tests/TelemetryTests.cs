using System.Net;
using System.Net.Http.Json;

namespace Platform.Distributed.Tests;

/// <summary>One ingest is one trace across the processes it passes through, however many hops and queues between them.</summary>
public sealed class TelemetryTests(DistributedCluster cluster) : IClassFixture<DistributedCluster>
{
    [Fact]
    public async Task One_ingest_is_one_trace_from_the_gateway_through_the_bus_and_an_encoder_silo_to_the_indexer()
    {
        cluster.Require();
        var (product, image) = GeneratedProducts.Make("trace", 1)[0];
        var traceId = Convert.ToHexStringLower(Guid.NewGuid().ToByteArray());
        using var http = new HttpClient { BaseAddress = cluster.Gateway.Address };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/products")
        {
            Content = JsonContent.Create(new { product.Id, product.Title, product.Description, product.Category, Image = Convert.ToBase64String(image) }),
        };
        // The caller's trace: everything the platform does for this ingest must join it.
        request.Headers.Add("traceparent", $"00-{traceId}-{Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.NextInt64()))}-01");
        using var response = await http.SendAsync(request, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);

        // Exporters send in batches every few seconds: wait until the trace has reached the indexer.
        string[] services = [];
        for (var waited = 0; waited < 60_000; waited += 250)
        {
            services = [.. cluster.Telemetry.Spans.Where(s => s.TraceId == traceId).Select(s => s.Service).Distinct().Order()];
            if (services.Contains("gateway") && services.Contains("indexer") && services.Any(s => s.StartsWith("encoder", StringComparison.Ordinal)))
                break;
            await Task.Delay(250, TestContext.Current.CancellationToken);
        }

        var spans = cluster.Telemetry.Spans.Where(s => s.TraceId == traceId).ToList();
        var described = string.Join("\n", spans.Select(s => $"{s.Service}: {s.Name}"));
        Assert.Contains("gateway", services);
        Assert.Contains(services, s => s.StartsWith("encoder", StringComparison.Ordinal));
        Assert.Contains("indexer", services);
        Assert.True(spans.Count(s => s.Service.StartsWith("encoder", StringComparison.Ordinal)) >= 2,
            $"the encoder silo should show the consume and the grain call in this trace:\n{described}");
        TestContext.Current.TestOutputHelper?.WriteLine($"trace {traceId}: {spans.Count} spans from {string.Join(", ", services)}\n{described}");
    }
}
