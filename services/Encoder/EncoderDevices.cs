using Platform.Inference;

namespace Platform.Encoder;

/// <summary>The model hosts of this process, one per device it encodes on; what the silo advertises as its accelerators.</summary>
public sealed class EncoderDevices(IEnumerable<EncoderHost> hosts)
{
    private readonly Dictionary<string, EncoderHost> _byDevice = hosts.ToDictionary(h => h.Device, StringComparer.Ordinal);

    public IReadOnlyCollection<string> Devices => _byDevice.Keys;

    public IEnumerable<EncoderHost> Hosts => _byDevice.Values;

    public EncoderHost Get(string device) =>
        _byDevice.TryGetValue(device, out var host)
            ? host
            : throw new InvalidOperationException($"this process has no encoder on '{device}'; it has {string.Join(", ", _byDevice.Keys)}");
}
