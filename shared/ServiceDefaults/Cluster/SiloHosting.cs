using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;
using Orleans.Dashboard;
using Orleans.Hosting;
using Orleans.Placement;
using Orleans.Runtime.MembershipService.SiloMetadata;
using StackExchange.Redis;

namespace Platform.ServiceDefaults.Cluster;

/// <summary>How a host joins the cluster (section <c>Orleans</c> of the configuration).</summary>
public sealed record SiloSettings
{
    public const string Localhost = "localhost";
    public const string Redis = "redis";

    /// <summary>
    /// <c>Orleans:Membership</c> (not <c>Orleans:Clustering</c>, which Orleans itself reads as its own provider
    /// section). <c>localhost</c>: a one-silo cluster in this process (the one-process mode); <c>redis</c>: membership
    /// in the Redis named by <see cref="RedisConnection"/>, so silos and clients of separate processes and machines
    /// find one another.</summary>
    public string Clustering { get; init; } = Localhost;

    /// <summary>StackExchange.Redis connection string (<c>Orleans:Redis</c>), for clustering and grain state.</summary>
    public string? RedisConnection { get; init; }

    /// <summary>Silos and clients with the same cluster id form one cluster; the service id keys grain state.</summary>
    public string ClusterId { get; init; } = "platform";

    public string ServiceId { get; init; } = "platform";

    /// <summary>The address other silos and clients reach this silo at (on Kubernetes the pod IP); Orleans picks one when null.</summary>
    public IPAddress? AdvertisedIP { get; init; }

    /// <summary>The silo's name in the membership table and the dashboard (on Kubernetes the pod name).</summary>
    public string? SiloName { get; init; }

    /// <summary>Silo-to-silo port; 0 picks a free one (the one-process mode's default; 11111 with Redis clustering).</summary>
    public int SiloPort { get; init; }

    /// <summary>Port for Orleans clients; 0 picks a free one (30000 with Redis clustering).</summary>
    public int GatewayPort { get; init; }

    /// <summary>Grain state: <c>memory</c> (lost with the silo; the one-process mode) or <c>redis</c>.</summary>
    public string Persistence { get; init; } = "memory";

    /// <summary>The devices this silo runs encoders on (<c>cpu</c>, <c>cuda:0</c>, ...); none for a silo without encoders.</summary>
    public IReadOnlyList<string> Accelerators { get; init; } = [];

    /// <summary>
    /// The assemblies whose grain classes this silo hosts, of the platform's own (<c>Platform.*</c>); null for all it
    /// has loaded (the one-process mode). A process that runs one role has every service's assemblies loaded (the
    /// <c>platform</c> binary carries them all), so without this an encoder silo would offer to host retrieval grains
    /// whose services it never registered.
    /// </summary>
    public IReadOnlyList<System.Reflection.Assembly>? GrainAssemblies { get; init; }

    /// <summary>Serve the Orleans dashboard under <c>/dashboard</c>. Off by default: it has no authentication of its own.</summary>
    public bool Dashboard { get; init; }

    public bool IsRedis => string.Equals(Clustering, Redis, StringComparison.OrdinalIgnoreCase);

    /// <summary>Reads the <c>Orleans</c> section: <c>Membership</c>, <c>Redis</c>, <c>ClusterId</c>, <c>ServiceId</c>,
    /// <c>AdvertisedIP</c>, <c>SiloName</c>, <c>SiloPort</c>, <c>GatewayPort</c>, <c>Persistence</c>,
    /// <c>Metadata:accelerator</c> (comma-separated), <c>Dashboard</c>; and checks that they fit together.</summary>
    public static SiloSettings From(IConfiguration configuration)
    {
        var section = configuration.GetSection("Orleans");
        var clustering = section["Membership"] ?? Localhost;
        var redis = string.Equals(clustering, Redis, StringComparison.OrdinalIgnoreCase);
        if (!redis && !string.Equals(clustering, Localhost, StringComparison.OrdinalIgnoreCase))
            throw new InvalidOperationException($"Orleans:Membership '{clustering}' is not known; use '{Localhost}' (one process) or '{Redis}'.");
        var persistence = section["Persistence"] ?? (redis ? Redis : "memory");
        if (persistence is not ("memory" or Redis))
            throw new InvalidOperationException($"Orleans:Persistence '{persistence}' is not known; use 'memory' or '{Redis}'.");
        var connection = section["Redis"];
        if ((redis || persistence == Redis) && string.IsNullOrWhiteSpace(connection))
            throw new InvalidOperationException("Orleans:Redis (the Redis connection string, for example 'localhost:6379') is needed for Redis clustering or grain state.");
        IPAddress? advertised = null;
        if (section["AdvertisedIP"] is { Length: > 0 } ip && !IPAddress.TryParse(ip, out advertised))
            throw new InvalidOperationException($"Orleans:AdvertisedIP '{ip}' is not an IP address.");
        return new SiloSettings
        {
            Clustering = redis ? Redis : Localhost,
            RedisConnection = connection,
            ClusterId = section["ClusterId"] ?? "platform",
            ServiceId = section["ServiceId"] ?? "platform",
            AdvertisedIP = advertised,
            SiloName = section["SiloName"],
            SiloPort = section.GetValue("SiloPort", redis ? 11111 : 0),
            GatewayPort = section.GetValue("GatewayPort", redis ? 30000 : 0),
            Persistence = persistence,
            Accelerators = (section[$"Metadata:{EncoderKey.AcceleratorMetadata}"] ?? "")
                .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            Dashboard = section.GetValue("Dashboard", false),
        };
    }

    internal ConfigurationOptions RedisOptions()
    {
        var options = ConfigurationOptions.Parse(RedisConnection!);
        // Start even while Redis is still coming up (compose, k8s): the connection keeps retrying in the background.
        options.AbortOnConnectFail = false;
        return options;
    }
}

public static class SiloHostingExtensions
{
    /// <summary>
    /// Hosts a silo in this process: clustering and grain state from <paramref name="settings"/>, the silo's metadata
    /// (its accelerators, other <c>Orleans:Metadata</c> keys as given), the accelerator placement filter, trace
    /// propagation across grain calls, and the encoder directory.
    /// </summary>
    public static IHostApplicationBuilder AddPlatformSilo(this IHostApplicationBuilder builder, SiloSettings settings,
        Action<ISiloBuilder>? configure = null)
    {
        var metadata = builder.Configuration.GetSection("Orleans:Metadata").GetChildren()
            .Where(c => c.Value is not null)
            .ToDictionary(c => c.Key, c => c.Value!, StringComparer.Ordinal);
        if (settings.Accelerators.Count > 0)
            metadata[EncoderKey.AcceleratorMetadata] = string.Join(",", settings.Accelerators);
        else
            metadata.Remove(EncoderKey.AcceleratorMetadata);

        builder.UseOrleans(silo =>
        {
            var siloPort = settings.SiloPort == 0 ? FreeTcpPort() : settings.SiloPort;
            var gatewayPort = settings.GatewayPort == 0 ? FreeTcpPort() : settings.GatewayPort;
            if (settings.IsRedis)
            {
                silo.UseRedisClustering(options => options.ConfigurationOptions = settings.RedisOptions());
                silo.Configure<ClusterOptions>(options =>
                {
                    options.ClusterId = settings.ClusterId;
                    options.ServiceId = settings.ServiceId;
                });
                if (settings.AdvertisedIP is { } ip)
                    silo.ConfigureEndpoints(ip, siloPort, gatewayPort, listenOnAnyHostAddress: !IPAddress.IsLoopback(ip));
                else
                    silo.ConfigureEndpoints(siloPort, gatewayPort, listenOnAnyHostAddress: true);
                // A killed silo is declared dead within seconds, so its grains (an encoder device's queue) move on quickly.
                silo.Configure<ClusterMembershipOptions>(options =>
                {
                    options.ProbeTimeout = TimeSpan.FromSeconds(2);
                    options.NumMissedProbesLimit = 2;
                    options.NumVotesForDeathDeclaration = 1;
                    options.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(10);
                });
            }
            else
            {
                silo.UseLocalhostClustering(siloPort: siloPort, gatewayPort: gatewayPort,
                    serviceId: settings.ServiceId, clusterId: settings.ClusterId);
            }
            if (settings.SiloName is { Length: > 0 } name)
                silo.Configure<SiloOptions>(options => options.SiloName = name);

            if (settings.Persistence == SiloSettings.Redis)
                silo.AddRedisGrainStorageAsDefault(options => options.ConfigurationOptions = settings.RedisOptions());
            else
                silo.AddMemoryGrainStorageAsDefault();

            if (settings.GrainAssemblies is { } hosted)
            {
                silo.Services.PostConfigure<GrainTypeOptions>(options => options.Classes.RemoveWhere(type =>
                    type.Assembly.GetName().Name?.StartsWith("Platform.", StringComparison.Ordinal) == true && !hosted.Contains(type.Assembly)));
            }
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
        silo.Services.AddVectorStoreSerialization();
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
