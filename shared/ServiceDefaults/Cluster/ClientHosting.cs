using Microsoft.Extensions.Hosting;
using Orleans.Hosting;

namespace Platform.ServiceDefaults.Cluster;

public static class ClientHostingExtensions
{
    /// <summary>An Orleans client of the cluster (the gateway, when it does not co-host a silo).</summary>
    public static IHostApplicationBuilder AddPlatformClient(this IHostApplicationBuilder builder, SiloSettings settings)
    {
        if (!string.Equals(settings.Clustering, "localhost", StringComparison.OrdinalIgnoreCase))
            throw new InvalidOperationException($"Orleans:Clustering '{settings.Clustering}' is not supported by this build; use 'localhost'.");
        builder.UseOrleansClient(client =>
        {
            client.UseLocalhostClustering(settings.GatewayPort == 0 ? 30000 : settings.GatewayPort);
            client.AddActivityPropagation();
        });
        return builder;
    }
}
