using Orleans;
using Orleans.Runtime;
using Orleans.Runtime.MembershipService.SiloMetadata;
using Platform.Contracts.Grains;

namespace Platform.ServiceDefaults.Cluster;

/// <summary>
/// Finds the encoder grains of the cluster: one per device per silo, from the silos' metadata. Work goes to an
/// encoder on the calling silo when it has any (no network hop for a shopper's words or a product's image; ingest is
/// spread over encoder processes by the bus, whose queue they share as competing consumers); a silo without one
/// spreads its calls over all of them.
/// Runs inside silos (the gateway never encodes itself: it calls the retrieval grain).
/// </summary>
public sealed class EncoderDirectory(
    IClusterMembershipService membership,
    ISiloMetadataCache metadata,
    ILocalSiloDetails local,
    IGrainFactory grains)
{
    private long _next;

    /// <summary>Every encoder key in the cluster right now (active silos only), local ones first.</summary>
    public IReadOnlyList<string> Keys()
    {
        var keys = new List<string>();
        foreach (var member in membership.CurrentSnapshot.Members.Values.OrderBy(m => m.SiloAddress.Equals(local.SiloAddress) ? 0 : 1))
        {
            if (member.Status != SiloStatus.Active)
                continue;
            foreach (var device in EncoderKey.Devices(metadata.GetSiloMetadata(member.SiloAddress)))
                keys.Add(EncoderKey.For(device, member.SiloAddress));
        }
        return keys;
    }

    /// <summary>An encoder for <paramref name="priority"/> work (either kind prefers this silo's); throws with the reason when the cluster has none.</summary>
    public IEncoderGrain Pick(EncodePriority priority)
    {
        var keys = Keys();
        if (keys.Count == 0)
        {
            throw new OrleansException(
                $"No encoder is available: no active silo advertises an accelerator in its metadata " +
                $"('{EncoderKey.AcceleratorMetadata}'). Start an encoder silo, or check its Orleans:Metadata:{EncoderKey.AcceleratorMetadata} setting.");
        }
        var localCount = keys.TakeWhile(k => EncoderKey.Parse(k).Silo?.Equals(local.SiloAddress) == true).Count();
        var turn = (int)((ulong)Interlocked.Increment(ref _next) % (ulong)(localCount > 0 ? localCount : keys.Count));
        return grains.GetGrain<IEncoderGrain>(keys[turn]);
    }
}
