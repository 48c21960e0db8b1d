using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Platform.ServiceDefaults;
using Platform.ServiceDefaults.Cluster;

namespace Platform.Gateway;

/// <summary>The gateway as a process of its own (its Program.cs, or <c>platform serve --role gateway</c>), from configuration.</summary>
public static class GatewayRole
{
    /// <summary>
    /// The HTTP API as an Orleans client of the cluster named by the <c>Orleans</c> section, publishing ingest work on
    /// the bus. At start it re-sends what the catalog holds as pending, then loads <c>Gateway:CatalogFile</c> if set.
    /// </summary>
    public static WebApplicationBuilder AddGatewayRole(this WebApplicationBuilder builder)
    {
        var settings = PlatformSettings.From(builder.Configuration);
        builder.AddServiceDefaults("gateway");
        builder.AddPlatformClient(SiloSettings.From(builder.Configuration));
        builder.AddGateway(new GatewayOptions
        {
            DataDirectory = settings.DataDirectory,
            ModelDirectory = settings.RequireModel(),
            MaxBodyBytes = builder.Configuration.GetValue("Gateway:MaxBodyMb", 16L) * 1024 * 1024,
        });
        builder.AddPlatformBus();
        builder.Services.AddSingleton(new GatewayStartupOptions(builder.Configuration["Gateway:CatalogFile"]));
        builder.Services.AddHostedService<GatewayStartup>();
        return builder;
    }
}

/// <summary>A catalog file (JSON lines) the gateway loads once it is up, or null.</summary>
public sealed record GatewayStartupOptions(string? CatalogFile);
