using YamlDotNet.RepresentationModel;

namespace Platform.Deploy.Tests.Support;

/// <summary>
/// A read-only view of a parsed YAML node: mappings, sequences and scalars (kept as strings, the way the tools print
/// them). Navigating into a missing key gives a missing node rather than throwing, so a test can say what was absent.
/// </summary>
public sealed class Y
{
    private readonly YamlNode? node;

    private Y(YamlNode? node, string path)
    {
        this.node = node;
        Path = path;
    }

    /// <summary>Where this node is, for messages (<c>$.services.gateway.ports[0]</c>).</summary>
    public string Path { get; }

    public bool Exists => node is not null && !(node is YamlScalarNode { Value: null or "" or "~" or "null", Style: YamlDotNet.Core.ScalarStyle.Plain });

    public bool IsMapping => node is YamlMappingNode;

    public Y this[string key] =>
        node is YamlMappingNode map && map.Children.TryGetValue(new YamlScalarNode(key), out var child)
            ? new Y(child, $"{Path}.{key}")
            : new Y(null, $"{Path}.{key}");

    public Y this[int index] => Items.ElementAtOrDefault(index) ?? new Y(null, $"{Path}[{index}]");

    /// <summary>The scalar's text, or null when this is missing or not a scalar.</summary>
    public string? Str => Exists && node is YamlScalarNode s ? s.Value : null;

    /// <summary>The scalar's text; fails the test, naming the path, when it is missing.</summary>
    public string Required => Str ?? throw new Xunit.Sdk.XunitException($"{Path} is missing");

    public IReadOnlyList<Y> Items =>
        node is YamlSequenceNode seq ? seq.Children.Select((c, i) => new Y(c, $"{Path}[{i}]")).ToList() : [];

    public IReadOnlyList<KeyValuePair<string, Y>> Entries =>
        node is YamlMappingNode map
            ? map.Children.Select(kv => KeyValuePair.Create(((YamlScalarNode)kv.Key).Value!, new Y(kv.Value, $"{Path}.{((YamlScalarNode)kv.Key).Value}"))).ToList()
            : [];

    public IEnumerable<string> Keys => Entries.Select(e => e.Key);

    /// <summary>Every document of a YAML stream (kustomize prints several, separated by <c>---</c>).</summary>
    public static IReadOnlyList<Y> Documents(string yaml, string origin)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return stream.Documents.Select((d, i) => new Y(d.RootNode, $"{origin}#{i}")).ToList();
    }

    public static Y Document(string yaml, string origin) => Documents(yaml, origin).Single();

    public override string ToString() => Str ?? Path;
}
