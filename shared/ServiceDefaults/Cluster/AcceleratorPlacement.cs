using Orleans.Placement;
using Orleans.Runtime;
using Orleans.Runtime.MembershipService.SiloMetadata;
using Orleans.Runtime.Placement;

namespace Platform.ServiceDefaults.Cluster;

/// <summary>
/// Places a grain only on a silo whose metadata names the accelerator in the grain's key. Orleans' built-in metadata
/// filters match the caller's metadata, so they cannot say "GPU silos only"; this one reads the key instead.
/// Keys: <c>cuda:0@&lt;silo&gt;</c> (that device on that silo, see <see cref="EncoderKey"/>) or a bare <c>cuda:0</c>
/// (that device on any silo that has it).
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class AcceleratorPlacementFilterAttribute() : PlacementFilterAttribute(new AcceleratorPlacementFilterStrategy());

/// <summary>The filter's strategy; it carries no settings of its own (the key says everything).</summary>
public sealed class AcceleratorPlacementFilterStrategy : PlacementFilterStrategy
{
    public AcceleratorPlacementFilterStrategy()
        : base(order: 0)
    {
    }
}

/// <summary>The metadata that silos advertise and the grain keys that name a device.</summary>
public static class EncoderKey
{
    /// <summary>Silo metadata key: the devices this silo runs encoders on, comma-separated (<c>cpu</c>, <c>cuda:0,cuda:1</c>).</summary>
    public const string AcceleratorMetadata = "accelerator";

    public static string For(string device, SiloAddress silo) => $"{device}@{silo.ToParsableString()}";

    /// <summary>The device and, when the key names one, the silo.</summary>
    public static (string Device, SiloAddress? Silo) Parse(string key)
    {
        var at = key.IndexOf('@', StringComparison.Ordinal);
        if (at < 0)
            return (key, null);
        return (key[..at], SiloAddress.FromParsableString(key[(at + 1)..]));
    }

    /// <summary>The devices named by a silo's metadata (empty when it has none).</summary>
    public static IReadOnlyList<string> Devices(SiloMetadata metadata) =>
        metadata.Metadata.TryGetValue(AcceleratorMetadata, out var value)
            ? value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            : [];
}

/// <summary>Keeps the silos that advertise the key's device (and are the key's silo, when it names one).</summary>
internal sealed class AcceleratorPlacementFilterDirector(ISiloMetadataCache metadata) : IPlacementFilterDirector
{
    public IEnumerable<SiloAddress> Filter(PlacementFilterStrategy filterStrategy, PlacementTarget target, IEnumerable<SiloAddress> silos)
    {
        var key = target.GrainIdentity.Key.ToString();
        var (device, wanted) = EncoderKey.Parse(key);
        var candidates = silos.ToList();
        var matching = candidates
            .Where(s => (wanted is null || s.Equals(wanted)) && EncoderKey.Devices(metadata.GetSiloMetadata(s)).Contains(device, StringComparer.Ordinal))
            .ToList();
        if (matching.Count > 0)
            return matching;

        // Say what the cluster does have, so an operator can see which silo lacks its metadata.
        var offered = candidates
            .Select(s => (Silo: s, Devices: EncoderKey.Devices(metadata.GetSiloMetadata(s))))
            .Where(x => x.Devices.Count > 0)
            .Select(x => $"{string.Join(",", x.Devices)} on {x.Silo}")
            .ToList();
        throw new OrleansException(
            $"No silo can host encoder '{key}': it needs a silo whose metadata '{EncoderKey.AcceleratorMetadata}' names '{device}'" +
            (wanted is null ? "" : $" at {wanted}") + ". " +
            (offered.Count == 0
                ? $"No silo in the cluster advertises an accelerator; start an encoder silo with Orleans:Metadata:{EncoderKey.AcceleratorMetadata}=<device>."
                : $"Silos offer: {string.Join("; ", offered)}."));
    }
}
