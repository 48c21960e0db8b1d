using System.Xml.Linq;
using Platform.Tests;

namespace Platform.Deploy.Tests.Support;

/// <summary>A role of the distributed platform: its host project, and whether it is a silo (has Orleans ports).</summary>
public sealed record Role(string Name, string Project, bool Silo)
{
    public const int Http = 8080;
    public const int SiloPort = 11111;
    public const int OrleansGateway = 30000;

    public string DockerfilePath => $"deploy/{Name}.Dockerfile";

    public IReadOnlySet<int> Ports => Silo ? new HashSet<int> { Http, SiloPort, OrleansGateway } : new HashSet<int> { Http };

    /// <summary>The assembly <c>dotnet publish</c> writes: the csproj's AssemblyName, or its file name.</summary>
    public string AssemblyName =>
        XDocument.Load(RepoPaths.InRepo(Project)).Descendants("AssemblyName").FirstOrDefault()?.Value
        ?? System.IO.Path.GetFileNameWithoutExtension(Project);

    public override string ToString() => Name;
}

/// <summary>What the deployment files are checked against: the roles and the configuration contract the code honours.</summary>
public static class PlatformContract
{
    public static readonly Role Gateway = new("gateway", "services/Gateway/Platform.Gateway.csproj", Silo: false);
    public static readonly Role Encoder = new("encoder", "services/Encoder/Platform.Encoder.csproj", Silo: true);
    public static readonly Role Retrieval = new("retrieval", "services/Retrieval/Platform.Retrieval.csproj", Silo: true);
    public static readonly Role Indexer = new("indexer", "services/Indexer/Platform.Indexer.csproj", Silo: false);

    public static readonly IReadOnlyList<Role> Roles = [Gateway, Encoder, Retrieval, Indexer];

    public static Role RoleNamed(string name) => Roles.Single(r => r.Name == name);

    /// <summary>For <c>[Theory]</c>: every role's name.</summary>
    public static TheoryData<string> RoleNames => new(Roles.Select(r => r.Name));

    /// <summary>The configuration keys (environment spelling) a platform role reads; anything else is a typo or an assumption.</summary>
    public static readonly IReadOnlySet<string> Keys = new HashSet<string>(StringComparer.Ordinal)
    {
        "Platform__Data", "Platform__Model", "Platform__Devices",
        "Orleans__Membership", "Orleans__Redis", "Orleans__ClusterId", "Orleans__ServiceId", "Orleans__AdvertisedIP",
        "Orleans__SiloName", "Orleans__SiloPort", "Orleans__GatewayPort", "Orleans__Persistence",
        "Bus__Transport", "Bus__RabbitMq__Uri", "Bus__PublishTimeoutSeconds", "Bus__ConcurrencyPerDevice", "Bus__RecoverAfterSeconds",
        "Ingest__ResendAfterMinutes", "Ingest__ResendCheckSeconds",
        "Catalog__Provider", "Catalog__ConnectionString",
        "VectorStore__Provider", "VectorStore__Qdrant__Url", "VectorStore__Qdrant__ApiKey",
        "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SERVICE_NAME", "ASPNETCORE_URLS",
    };

    /// <summary>Keys only the encoder reads.</summary>
    public static readonly IReadOnlySet<string> EncoderOnlyKeys = new HashSet<string> { "Platform__Devices", "Bus__ConcurrencyPerDevice" };

    /// <summary>Keys only silos read (clients have no silo of their own to advertise).</summary>
    public static readonly IReadOnlySet<string> SiloOnlyKeys = new HashSet<string>
    {
        "Orleans__AdvertisedIP", "Orleans__SiloName", "Orleans__SiloPort", "Orleans__GatewayPort",
    };

    /// <summary>Values the contract fixes, whatever the deployment.</summary>
    public static readonly IReadOnlyDictionary<string, string> FixedValues = new Dictionary<string, string>
    {
        ["Platform__Data"] = "/data",
        ["Platform__Model"] = "/app/models/shopping-minilm",
        ["Orleans__Membership"] = "redis",
        ["Orleans__Redis"] = "redis:6379",
        ["Orleans__ClusterId"] = "platform",
        ["Orleans__ServiceId"] = "platform",
        ["Orleans__Persistence"] = "redis",
        ["Orleans__SiloPort"] = "11111",
        ["Orleans__GatewayPort"] = "30000",
        ["Bus__Transport"] = "rabbitmq",
        ["Bus__PublishTimeoutSeconds"] = "10",
        ["Catalog__Provider"] = "postgres",
        ["VectorStore__Provider"] = "qdrant",
        ["VectorStore__Qdrant__Url"] = "http://qdrant:6334",
        ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://otel-collector:4317",
        ["ASPNETCORE_URLS"] = "http://+:8080",
    };

    /// <summary>The UID the images run as (the aspnet image's APP_UID) and the k8s pods ask for.</summary>
    public const long AppUid = 1654;
}
