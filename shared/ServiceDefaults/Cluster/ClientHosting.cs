using Microsoft.Extensions.Hosting;
using Orleans.Configuration;
using Orleans.Hosting;

namespace Platform.ServiceDefaults.Cluster;

public static class ClientHostingExtensions
{
    /// <summary>An Orleans client of the cluster (the gateway and the indexer, when they do not co-host a silo).</summary>
    public static IHostApplicationBuilder AddPlatformClient(this IHostApplicationBuilder builder, SiloSettings settings)
    {
        builder.UseOrleansClient(client =>
        {
            if (settings.IsRedis)
            {
                client.UseRedisClustering(options => options.ConfigurationOptions = settings.RedisOptions());
                client.Configure<ClusterOptions>(options =>
                {
                    options.ClusterId = settings.ClusterId;
                    options.ServiceId = settings.ServiceId;
                });
                // Keep trying to connect while the silos start or restart, instead of failing the host at start.
                client.UseConnectionRetryFilter(async (_, cancellationToken) =>
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
                    return !cancellationToken.IsCancellationRequested;
                });
            }
            else
            {
                client.UseLocalhostClustering(settings.GatewayPort == 0 ? 30000 : settings.GatewayPort,
                    serviceId: settings.ServiceId, clusterId: settings.ClusterId);
            }
            client.AddActivityPropagation();
            client.Services.AddVectorStoreSerialization();
        });
        return builder;
    }
}
