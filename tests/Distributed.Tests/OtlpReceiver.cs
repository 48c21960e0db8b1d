using System.Collections.Concurrent;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Platform.Tests.Servers;

namespace Platform.Distributed.Tests;

/// <summary>A span as a process exported it: which service, which trace, its name.</summary>
public sealed record ReceivedSpan(string Service, string TraceId, string SpanId, string Name);

/// <summary>
/// An OTLP/HTTP trace receiver in the test process (<c>POST /v1/traces</c>, protobuf), standing where a collector
/// would: every platform process exports its spans here. It reads the request's wire format directly (the fields it
/// needs of <c>ExportTraceServiceRequest</c>: resource service name, and each span's trace id, span id and name).
/// </summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ReceivedSpan> _spans = new();

    public OtlpReceiver()
    {
        Port = LocalServer.FreePort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{Port}");
        builder.Logging.ClearProviders();
        _app = builder.Build();
        _app.MapPost("/v1/traces", async (HttpRequest request) =>
        {
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body);
            foreach (var span in Parse(body.ToArray()))
                _spans.Enqueue(span);
            return Results.Bytes([], "application/x-protobuf");
        });
        // Metrics and logs are accepted and dropped.
        _app.MapPost("/v1/metrics", () => Results.Bytes([], "application/x-protobuf"));
        _app.MapPost("/v1/logs", () => Results.Bytes([], "application/x-protobuf"));
    }

    public int Port { get; }

    public Uri Endpoint => new($"http://127.0.0.1:{Port}");

    public IReadOnlyCollection<ReceivedSpan> Spans => _spans;

    public Task StartAsync() => _app.StartAsync();

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();

    internal static IEnumerable<ReceivedSpan> Parse(byte[] request)
    {
        var spans = new List<ReceivedSpan>();
        foreach (var resourceSpans in Fields(request, 1))
        {
            var service = "";
            var scopeSpans = new List<byte[]>();
            var input = new CodedInputStream(resourceSpans);
            for (uint tag; (tag = input.ReadTag()) != 0;)
            {
                switch (WireFormat.GetTagFieldNumber(tag))
                {
                    case 1: service = ServiceName(input.ReadBytes().ToByteArray()) ?? service; break;
                    case 2: scopeSpans.Add(input.ReadBytes().ToByteArray()); break;
                    default: input.SkipLastField(); break;
                }
            }
            foreach (var scope in scopeSpans)
                foreach (var span in Fields(scope, 2))
                    spans.Add(ReadSpan(service, span));
        }
        return spans;
    }

    private static ReceivedSpan ReadSpan(string service, byte[] span)
    {
        string traceId = "", spanId = "", name = "";
        var input = new CodedInputStream(span);
        for (uint tag; (tag = input.ReadTag()) != 0;)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1: traceId = Convert.ToHexStringLower(input.ReadBytes().ToByteArray()); break;
                case 2: spanId = Convert.ToHexStringLower(input.ReadBytes().ToByteArray()); break;
                case 5: name = input.ReadString(); break;
                default: input.SkipLastField(); break;
            }
        }
        return new ReceivedSpan(service, traceId, spanId, name);
    }

    /// <summary>Resource { repeated KeyValue attributes = 1 }, KeyValue { key = 1; AnyValue value = 2 }, AnyValue { string_value = 1 }.</summary>
    private static string? ServiceName(byte[] resource)
    {
        foreach (var attribute in Fields(resource, 1))
        {
            string? key = null, value = null;
            var input = new CodedInputStream(attribute);
            for (uint tag; (tag = input.ReadTag()) != 0;)
            {
                switch (WireFormat.GetTagFieldNumber(tag))
                {
                    case 1: key = input.ReadString(); break;
                    case 2: value = Fields(input.ReadBytes().ToByteArray(), 1).Select(b => System.Text.Encoding.UTF8.GetString(b)).FirstOrDefault(); break;
                    default: input.SkipLastField(); break;
                }
            }
            if (key == "service.name")
                return value;
        }
        return null;
    }

    /// <summary>The length-delimited values of field <paramref name="number"/> of a message.</summary>
    private static IEnumerable<byte[]> Fields(byte[] message, int number)
    {
        var values = new List<byte[]>();
        var input = new CodedInputStream(message);
        for (uint tag; (tag = input.ReadTag()) != 0;)
        {
            if (WireFormat.GetTagFieldNumber(tag) == number && WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
                values.Add(input.ReadBytes().ToByteArray());
            else
                input.SkipLastField();
        }
        return values;
    }
}
