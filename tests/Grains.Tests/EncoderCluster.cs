using Microsoft.Extensions.DependencyInjection;
using Orleans.Hosting;
using Orleans.Runtime;
using Orleans.Runtime.MembershipService.SiloMetadata;
using Orleans.TestingHost;
using Platform.Encoder;
using Platform.Encoder.Batching;
using Platform.Inference;
using Platform.ServiceDefaults.Cluster;
using Platform.Tests;

namespace Platform.Grains.Tests;

/// <summary>
/// Two silos in one test process, as Orleans' own tests run them: the first advertises an accelerator (the test
/// model on the CPU, named <see cref="Device"/>), the second advertises none. Both can call anything.
/// </summary>
public class EncoderCluster : IAsyncLifetime
{
    public const string Device = "cpu";

    public static readonly string Model = RepoPaths.InRepo("models", "test-clip");

    private readonly bool _withAccelerator;
    private readonly BatchingOptions _batching;

    public EncoderCluster()
        : this(withAccelerator: true, new BatchingOptions { MaxWait = TimeSpan.FromMilliseconds(20) })
    {
    }

    protected EncoderCluster(bool withAccelerator, BatchingOptions batching)
    {
        _withAccelerator = withAccelerator;
        _batching = batching;
    }

    public InProcessTestCluster Cluster { get; private set; } = null!;

    /// <summary>The silo with the accelerator (or, in a cluster without one, the first).</summary>
    public SiloAddress AcceleratorSilo { get; private set; } = null!;

    /// <summary>The silo without one.</summary>
    public SiloAddress PlainSilo { get; private set; } = null!;

    public IGrainFactory GrainsOn(SiloAddress silo) => Cluster.GetSiloServiceProvider(silo).GetRequiredService<IGrainFactory>();

    public T ServiceOn<T>(SiloAddress silo) where T : notnull => Cluster.GetSiloServiceProvider(silo).GetRequiredService<T>();

    public async ValueTask InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(2);
        var first = (string?)null;
        builder.ConfigureSilo((options, silo) =>
        {
            first ??= options.SiloName;
            var hasAccelerator = _withAccelerator && options.SiloName == first;
            silo.UseSiloMetadata(hasAccelerator
                ? new Dictionary<string, string> { [EncoderKey.AcceleratorMetadata] = Device }
                : new Dictionary<string, string>());
            silo.AddPlatformGrainServices();
            // Every silo could load the model; only placement decides where an encoder runs.
            silo.Services.AddSingleton(new EncoderHost(Model, Device));
            silo.Services.AddSingleton<EncoderDevices>();
            silo.Services.AddSingleton(_batching);
        });
        // The client loads every grain interface it references, the vector store's too, as platform clients do.
        builder.ConfigureClient(client => client.Services.AddVectorStoreSerialization());
        Cluster = builder.Build();
        await Cluster.DeployAsync();
        // Which silo got the metadata, as the silos themselves see it.
        var addresses = Cluster.Silos.Select(s => s.SiloAddress).ToList();
        bool Advertises(SiloAddress a) => EncoderKey.Devices(ServiceOn<ISiloMetadataCache>(a).GetSiloMetadata(a)).Count > 0;
        AcceleratorSilo = addresses.FirstOrDefault(Advertises) ?? addresses[0];
        PlainSilo = addresses.First(a => !a.Equals(AcceleratorSilo));
    }

    public async ValueTask DisposeAsync()
    {
        await Cluster.DisposeAsync();
        GC.SuppressFinalize(this);
    }
}

/// <summary>The same two silos, neither advertising an accelerator.</summary>
public sealed class ClusterWithoutAccelerator() : EncoderCluster(withAccelerator: false, new BatchingOptions());

/// <summary>The same two silos with batching turned off.</summary>
public sealed class ClusterWithoutBatching() : EncoderCluster(withAccelerator: true, new BatchingOptions { Enabled = false });
