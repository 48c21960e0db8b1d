using Platform.Deploy.Tests.Support;
using Platform.Tests;
using static Platform.Deploy.Tests.Support.Rendered;

namespace Platform.Deploy.Tests;

/// <summary>The three descriptions of one deployment agree: Dockerfiles, compose files and k8s manifests.</summary>
public sealed class ConsistencyTests
{
    public static TheoryData<string> Roles => PlatformContract.RoleNames;

    [Theory, MemberData(nameof(Roles))]
    public void K8s_runs_the_images_compose_builds(string name)
    {
        var role = PlatformContract.RoleNamed(name);
        // GPU cluster = docker-compose.yml; CPU cluster = docker-compose.yml + the CPU override.
        foreach (var (overlay, compose) in new[] { (GpuOverlay, Compose(MainCompose)), (CpuOverlay, Compose(MainCompose, CpuCompose)) })
        {
            var built = ComposeTests.ServiceOf(compose, role).Service["image"].Required;
            var run = Kustomize(overlay).Named("Deployment", name).Container(name)["image"].Required;
            Assert.True(built == run, $"{overlay} runs {run} for {name}; the matching compose files build {built}");
        }
    }

    [Theory, MemberData(nameof(Roles))]
    public void K8s_container_ports_are_the_dockerfile_exposed_ports(string name)
    {
        var role = PlatformContract.RoleNamed(name);
        var exposed = Dockerfile.Load(RepoPaths.InRepo(role.DockerfilePath)).Final.All("EXPOSE").SelectMany(e => e.Words).Select(int.Parse).ToHashSet();
        foreach (var overlay in new[] { CpuOverlay, GpuOverlay })
            Assert.Equal(exposed.Order(), Kustomize(overlay).Named("Deployment", name).Container(name).ContainerPorts().Order());
        // The compose gateway publishes a port its image exposes.
        if (role == PlatformContract.Gateway)
            Assert.Contains(Role.Http, exposed);
    }

    [Fact]
    public void K8s_config_map_holds_the_same_settings_as_the_compose_env_file()
    {
        var envFile = File.ReadAllLines(RepoPaths.InRepo("deploy", "platform.env"))
            .Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
        Assert.All(envFile.Keys, k => Assert.Contains(k, PlatformContract.Keys));
        foreach (var overlay in new[] { CpuOverlay, GpuOverlay })
        {
            var map = Assert.Single(Kustomize(overlay).OfKind("ConfigMap"))["data"];
            Assert.Equal(envFile.OrderBy(kv => kv.Key), map.Entries.Select(e => KeyValuePair.Create(e.Key, e.Value.Required)).OrderBy(kv => kv.Key));
        }
    }

    [Fact]
    public void Every_endpoint_the_settings_name_is_a_compose_service_on_that_port()
    {
        var services = Compose(MainCompose)["services"];
        var env = ComposeTests.Environment(ComposeTests.ServiceOf(Compose(MainCompose), PlatformContract.Encoder).Service);
        var endpoints = new[]
        {
            new Uri("tcp://" + env["Orleans__Redis"]),
            new Uri(env["Bus__RabbitMq__Uri"]),
            new Uri(env["VectorStore__Qdrant__Url"]),
            new Uri(env["OTEL_EXPORTER_OTLP_ENDPOINT"]),
            new Uri("tcp://" + env["Catalog__ConnectionString"].Split(';').Single(p => p.StartsWith("Host=", StringComparison.Ordinal))[5..] + ":" +
                    env["Catalog__ConnectionString"].Split(';').Single(p => p.StartsWith("Port=", StringComparison.Ordinal))[5..]),
        };
        // The engines' well-known ports (their images listen there; nothing in compose remaps them inside the network).
        var listens = new Dictionary<string, int>
        {
            ["redis"] = 6379, ["rabbitmq"] = 5672, ["qdrant"] = 6334, ["otel-collector"] = 4317, ["postgres"] = 5432,
        };
        foreach (var uri in endpoints)
        {
            Assert.True(services[uri.Host].Exists, $"{uri} names {uri.Host}, which is not a compose service");
            Assert.Equal(listens[uri.Host], uri.Port);
        }

        // The collector's OTLP/gRPC receiver is where the roles send.
        var collector = Y.Document(File.ReadAllText(RepoPaths.InRepo("deploy", "otel-collector.yaml")), "otel-collector.yaml");
        Assert.EndsWith(":4317", collector["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"].Required);
    }
}
