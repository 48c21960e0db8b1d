using Orleans.Runtime;
using Platform.Contracts.Grains;
using Platform.ServiceDefaults.Cluster;

namespace Platform.Grains.Tests;

public sealed class PlacementTests(EncoderCluster cluster) : IClassFixture<EncoderCluster>
{
    [Fact]
    public async Task Encoder_activations_land_only_on_the_silo_with_an_accelerator_whichever_silo_calls()
    {
        var fromPlain = await cluster.GrainsOn(cluster.PlainSilo).GetGrain<IEncoderGrain>(EncoderCluster.Device).Describe();
        var fromAccelerator = await cluster.GrainsOn(cluster.AcceleratorSilo).GetGrain<IEncoderGrain>(EncoderCluster.Device).Describe();
        var fromClient = await cluster.Cluster.Client.GetGrain<IEncoderGrain>(EncoderCluster.Device).Describe();

        Assert.All([fromPlain, fromAccelerator, fromClient], d => Assert.Equal(cluster.AcceleratorSilo.ToString(), d.Silo));
        Assert.Equal("test-clip-random", fromClient.Model);
        Assert.Equal(EncoderCluster.Device, fromClient.Device);
    }

    [Fact]
    public async Task The_directory_of_a_silo_without_an_accelerator_finds_the_encoder_on_the_other()
    {
        var directory = cluster.ServiceOn<EncoderDirectory>(cluster.PlainSilo);

        var key = Assert.Single(directory.Keys());
        Assert.Equal(EncoderKey.For(EncoderCluster.Device, cluster.AcceleratorSilo), key);
        var described = await directory.Pick(EncodePriority.Query).Describe();
        Assert.Equal(cluster.AcceleratorSilo.ToString(), described.Silo);
    }

    [Fact]
    public async Task A_device_no_silo_has_fails_with_an_error_that_names_what_the_cluster_offers()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => cluster.Cluster.Client.GetGrain<IEncoderGrain>("cuda:7").Describe());

        Assert.Contains("No silo can host encoder 'cuda:7'", error.Message);
        Assert.Contains($"{EncoderCluster.Device} on {cluster.AcceleratorSilo}", error.Message);
    }

    [Fact]
    public async Task A_key_for_the_plain_silo_is_refused_rather_than_placed_there()
    {
        var key = EncoderKey.For(EncoderCluster.Device, cluster.PlainSilo);

        var error = await Assert.ThrowsAnyAsync<Exception>(() => cluster.Cluster.Client.GetGrain<IEncoderGrain>(key).Describe());

        Assert.Contains("No silo can host encoder", error.Message);
    }
}

public sealed class NoAcceleratorTests(ClusterWithoutAccelerator cluster) : IClassFixture<ClusterWithoutAccelerator>
{
    [Fact]
    public async Task Without_a_silo_that_has_an_accelerator_an_encode_fails_with_a_clear_error()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() =>
            cluster.Cluster.Client.GetGrain<IEncoderGrain>(EncoderCluster.Device).EncodeTexts(["red shoes"], EncodePriority.Query));

        Assert.Contains("No silo in the cluster advertises an accelerator", error.Message);
    }

    [Fact]
    public void The_directory_says_there_is_no_encoder_and_how_to_get_one()
    {
        var directory = cluster.ServiceOn<EncoderDirectory>(cluster.PlainSilo);

        Assert.Empty(directory.Keys());
        var error = Assert.Throws<OrleansException>(() => directory.Pick(EncodePriority.Ingest));
        Assert.Contains("Orleans:Metadata:accelerator", error.Message);
    }
}
