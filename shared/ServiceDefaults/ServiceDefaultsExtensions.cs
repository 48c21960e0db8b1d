using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Platform.ServiceDefaults;

/// <summary>What every host of the platform wires the same way: telemetry, problem details and health endpoints.</summary>
public static class ServiceDefaultsExtensions
{
    public const string LiveTag = "live";
    public const string ReadyTag = "ready";

    /// <summary>The platform's own activity sources and meters (<c>Platform.Encoder</c>, <c>Platform.Indexer</c>, ...).</summary>
    public const string PlatformTelemetry = "Platform.*";

    /// <summary>
    /// Problem details, the liveness check, and OpenTelemetry: traces from ASP.NET Core, outgoing HTTP, Orleans grain
    /// calls (with <c>AddActivityPropagation()</c> on silos and clients), MassTransit and the platform's own spans;
    /// metrics from the same, with request latency, encoder batch sizes and queue wait, ingest lag. Exported over OTLP
    /// when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> (or <c>OpenTelemetry:Otlp:Endpoint</c>) names a collector, over gRPC
    /// unless <c>OTEL_EXPORTER_OTLP_PROTOCOL</c> is <c>http/protobuf</c>. The service name is
    /// <paramref name="serviceName"/> (the role) unless <c>OTEL_SERVICE_NAME</c> names this process otherwise.
    /// </summary>
    public static IHostApplicationBuilder AddServiceDefaults(this IHostApplicationBuilder builder, string serviceName = "platform")
    {
        serviceName = builder.Configuration["OTEL_SERVICE_NAME"] is { Length: > 0 } named ? named : serviceName;
        builder.Services.AddProblemDetails();
        builder.Services.AddHealthChecks().AddCheck("process", () => HealthCheckResult.Healthy("the process is running"), [LiveTag]);

        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(serviceName))
            .WithTracing(t => t
                .AddSource(PlatformTelemetry, "MassTransit",
                    Orleans.Diagnostics.ActivitySources.ApplicationGrainActivitySourceName,
                    Orleans.Diagnostics.ActivitySources.RuntimeActivitySourceName)
                .AddAspNetCoreInstrumentation(o => o.Filter = http => !http.Request.Path.StartsWithSegments("/health"))
                .AddHttpClientInstrumentation())
            .WithMetrics(m => m
                .AddMeter(PlatformTelemetry, "MassTransit", "Microsoft.Orleans")
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation());
        var otlp = builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"] ?? builder.Configuration["OpenTelemetry:Otlp:Endpoint"];
        if (!string.IsNullOrWhiteSpace(otlp))
        {
            var protocol = builder.Configuration["OTEL_EXPORTER_OTLP_PROTOCOL"] switch
            {
                null or "" or "grpc" => OpenTelemetry.Exporter.OtlpExportProtocol.Grpc,
                "http/protobuf" => OpenTelemetry.Exporter.OtlpExportProtocol.HttpProtobuf,
                var other => throw new InvalidOperationException($"OTEL_EXPORTER_OTLP_PROTOCOL '{other}' is not supported; use 'grpc' or 'http/protobuf'."),
            };
            telemetry.UseOtlpExporter(protocol, new Uri(otlp));
        }
        return builder;
    }

    /// <summary><c>/health/live</c>: the process answers. <c>/health/ready</c>: every check tagged ready passes.</summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = r => r.Tags.Contains(LiveTag), ResponseWriter = WriteReport });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = r => r.Tags.Contains(ReadyTag), ResponseWriter = WriteReport });
        return app;
    }

    /// <summary>The report as JSON, so an operator sees which check is not ready and why.</summary>
    private static Task WriteReport(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        var body = new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(e => e.Key, e => new
            {
                status = e.Value.Status.ToString(),
                description = e.Value.Description ?? e.Value.Exception?.Message,
            }),
        };
        return context.Response.WriteAsync(JsonSerializer.Serialize(body, JsonSerializerOptions.Web));
    }
}
