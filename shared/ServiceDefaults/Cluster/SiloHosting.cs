using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Dashboard;
using Orleans.Hosting;
using Orleans.Placement;
using Orleans.Runtime.MembershipService.SiloMetadata;

namespace Platform.ServiceDefaults.Cluster;

/// <summary>How a host's silo joins the cluster (section <c>Orleans</c> of the configuration).</summary>
public sealed record SiloSettings
{
    /// <summary><c>localhost</c>: a one-silo cluster in this process (the one-process mode).</summary>
    public string Clustering { get; init; } = "localhost";

    /// <summary>Silo-to-silo port; 0 picks a free one (nothing outside the process needs it in the one-process mode).</summary>
    public int SiloPort { get; init; }

    /// <summary>Port for Orleans clients; 0 picks a free one.</summary>
    public int GatewayPort { get; init; }

    /// <summary>The devices this silo runs encoders on (<c>cpu</c>, <c>cuda:0</c>, ...); none for a silo without encoders.</summary>
    public IReadOnlyList<string> Accelerators { get; init; } = [];

    /// <summary>Serve the Orleans dashboard under <c>/dashboard</c>. Off by default: it has no authentication of its own.</summary>
    public bool Dashboard { get; init; }

    /// <summary>Reads the <c>Orleans</c> section: <c>Clustering</c>, <c>SiloPort</c>, <c>GatewayPort</c>,
    /// <c>Metadata:accelerator</c> (comma-separated), <c>Dashboard</c>.</summary>
    public static SiloSettings From(IConfiguration configuration)
    {
        var section = configuration.GetSection("Orleans");
        return new SiloSettings
        {
            Clustering = section["Clustering"] ?? "localhost",
            SiloPort = section.GetValue("SiloPort", 0),
            GatewayPort = section.GetValue("GatewayPort", 0),
            Accelerators = (section[$"Metadata:{EncoderKey.AcceleratorMetadata}"] ?? "")
                .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            Dashboard = section.GetValue("Dashboard", false),
        };
    }
}

public static class SiloHostingExtensions
{
    /// <summary>
    /// Hosts a silo in this process: clustering from <paramref name="settings"/>, the silo's metadata (its
    /// accelerators, other <c>Orleans:Metadata</c> keys as given), the accelerator placement filter, trace
    /// propagation across grain calls, and the encoder directory.
    /// </summary>
    public static IHostApplicationBuilder AddPlatformSilo(this IHostApplicationBuilder builder, SiloSettings settings,
        Action<ISiloBuilder>? configure = null)
    {
        if (!string.Equals(settings.Clustering, "localhost", StringComparison.OrdinalIgnoreCase))
            throw new InvalidOperationException($"Orleans:Clustering '{settings.Clustering}' is not supported by this build; use 'localhost'.");

        var metadata = builder.Configuration.GetSection("Orleans:Metadata").GetChildren()
            .Where(c => c.Value is not null)
            .ToDictionary(c => c.Key, c => c.Value!, StringComparer.Ordinal);
        if (settings.Accelerators.Count > 0)
            metadata[EncoderKey.AcceleratorMetadata] = string.Join(",", settings.Accelerators);
        else
            metadata.Remove(EncoderKey.AcceleratorMetadata);

        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(
                siloPort: settings.SiloPort == 0 ? FreeTcpPort() : settings.SiloPort,
                gatewayPort: settings.GatewayPort == 0 ? FreeTcpPort() : settings.GatewayPort);
            silo.UseSiloMetadata(metadata);
            silo.AddPlatformGrainServices();
            if (settings.Dashboard)
                silo.AddDashboard();
            configure?.Invoke(silo);
        });
        return builder;
    }

    /// <summary>What every silo of the platform needs, whatever hosts it (also used by test clusters).</summary>
    public static ISiloBuilder AddPlatformGrainServices(this ISiloBuilder silo)
    {
        silo.AddActivityPropagation();
        silo.Services.AddPlacementFilter<AcceleratorPlacementFilterStrategy, AcceleratorPlacementFilterDirector>(ServiceLifetime.Singleton);
        silo.Services.AddSingleton<EncoderDirectory>();
        return silo;
    }

    private static int FreeTcpPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
