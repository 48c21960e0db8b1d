using Platform.Deploy.Tests.Support;
using Platform.Tests;
using static Platform.Deploy.Tests.Support.Rendered;

namespace Platform.Deploy.Tests;

/// <summary>docker-compose.yml (and the CPU override) as docker-compose 1.29 renders them.</summary>
public sealed class ComposeTests
{
    public static TheoryData<string> Roles => PlatformContract.RoleNames;

    private static readonly string[] Engines = ["rabbitmq", "redis", "postgres", "qdrant", "otel-collector"];

    private static Y Main => Compose(MainCompose);
    private static Y Cpu => Compose(MainCompose, CpuCompose);

    /// <summary>The compose service that runs a role: the one built from the role's Dockerfile (and started by default).</summary>
    internal static (string Name, Y Service) ServiceOf(Y config, Role role)
    {
        var found = config["services"].Entries
            .Where(s => s.Value["build"]["dockerfile"].Str == role.DockerfilePath && !s.Value["profiles"].Exists).ToList();
        Assert.True(found.Count == 1, $"{config.Path}: {found.Count} services started by default build {role.DockerfilePath}, not one");
        return (found[0].Key, found[0].Value);
    }

    internal static Dictionary<string, string> Environment(Y service) =>
        service["environment"].Entries.ToDictionary(e => e.Key, e => e.Value.Str ?? "", StringComparer.Ordinal);

    [Fact]
    public void Every_engine_and_role_is_a_service()
    {
        var services = Main["services"].Keys.ToHashSet();
        Assert.All(Engines, e => Assert.Contains(e, services));
        Assert.All(PlatformContract.Roles, r => Assert.Contains(r.Name, services));
        Assert.All(PlatformContract.Roles, r => Assert.Equal(r.Name, ServiceOf(Main, r).Name));
    }

    [Theory, MemberData(nameof(Roles))]
    public void Role_is_built_from_its_dockerfile_at_the_repository_root_and_tagged_platform_role(string name)
    {
        var role = PlatformContract.RoleNamed(name);
        var (_, service) = ServiceOf(Main, role);
        Assert.Equal(RepoPaths.Root.TrimEnd('/'), service["build"]["context"].Required.TrimEnd('/'));
        Assert.True(File.Exists(RepoPaths.InRepo(service["build"]["dockerfile"].Required)));
        Assert.Equal(role == PlatformContract.Encoder ? $"platform/{name}:latest-gpu" : $"platform/{name}:latest", service["image"].Required);
    }

    [Theory, MemberData(nameof(Roles))]
    public void Role_has_a_data_volume_and_only_contract_settings(string name)
    {
        var role = PlatformContract.RoleNamed(name);
        var (_, service) = ServiceOf(Main, role);
        Assert.Contains(service["volumes"].Items, v => v.Str is { } s && s.Split(':') is [var src, "/data", ..] && !src.StartsWith('/'));

        var env = Environment(service);
        Assert.All(env.Keys, k => Assert.True(PlatformContract.Keys.Contains(k), $"{name}: {k} is not a configuration key the platform reads"));
        foreach (var (key, value) in PlatformContract.FixedValues.Where(kv => role.Silo || !PlatformContract.SiloOnlyKeys.Contains(kv.Key)))
            Assert.True(env.TryGetValue(key, out var actual) && actual == value, $"{name}: {key} is '{(env.TryGetValue(key, out var a) ? a : "unset")}', not '{value}'");
        Assert.Equal(name, env["OTEL_SERVICE_NAME"]);
        Assert.StartsWith("amqp://platform:", env["Bus__RabbitMq__Uri"]);
        Assert.EndsWith("@rabbitmq:5672/", env["Bus__RabbitMq__Uri"]);
        Assert.Matches(@"^Host=postgres;Port=5432;Username=platform;Password=[^;]+;Database=platform$", env["Catalog__ConnectionString"]);
        if (!role.Silo)
            Assert.DoesNotContain(env.Keys, PlatformContract.SiloOnlyKeys.Contains);
        if (role != PlatformContract.Encoder)
            Assert.DoesNotContain(env.Keys, PlatformContract.EncoderOnlyKeys.Contains);
    }

    [Fact]
    public void Passwords_default_to_development_values_the_same_on_both_sides()
    {
        var services = Main["services"];
        var rabbitPass = services["rabbitmq"]["environment"]["RABBITMQ_DEFAULT_PASS"].Required;
        var pgPass = services["postgres"]["environment"]["POSTGRES_PASSWORD"].Required;
        Assert.Contains("dev", rabbitPass);
        Assert.Contains("dev", pgPass);
        foreach (var role in PlatformContract.Roles)
        {
            var env = Environment(ServiceOf(Main, role).Service);
            Assert.Contains($":{rabbitPass}@", env["Bus__RabbitMq__Uri"]);
            Assert.Contains($"Password={pgPass};", env["Catalog__ConnectionString"]);
        }
        // The defaults come from variables, so a .env can replace them.
        var raw = File.ReadAllText(RepoPaths.InRepo(MainCompose));
        Assert.Contains("${RABBITMQ_PASSWORD:-", raw);
        Assert.Contains("${POSTGRES_PASSWORD:-", raw);
    }

    [Fact]
    public void Encoder_reserves_one_nvidia_gpu_and_is_the_gpu_build()
    {
        var encoder = ServiceOf(Main, PlatformContract.Encoder).Service;
        var devices = encoder["deploy"]["resources"]["reservations"]["devices"].Items;
        var gpu = Assert.Single(devices);
        Assert.Equal("nvidia", gpu["driver"].Str);
        Assert.Equal("1", gpu["count"].Str);
        Assert.Equal(["gpu"], gpu["capabilities"].Items.Select(c => c.Str));
        Assert.Equal("true", encoder["build"]["args"]["PLATFORM_GPU"].Str);
        Assert.Equal("cuda:0", Environment(encoder)["Platform__Devices"]);
        Assert.True(int.Parse(Environment(encoder)["Bus__ConcurrencyPerDevice"]) > 0);

        foreach (var (name, service) in Main["services"].Entries.Where(s => s.Key != "encoder"))
            Assert.False(service["deploy"]["resources"]["reservations"]["devices"].Exists, $"{name} reserves a device");
    }

    [Fact]
    public void Only_the_gateway_publishes_the_api_and_silos_publish_no_orleans_ports()
    {
        var services = Main["services"];
        Assert.Contains(services["gateway"]["ports"].Items, p => Published(p) == (8080, 8080));
        foreach (var role in PlatformContract.Roles.Where(r => r != PlatformContract.Gateway))
            Assert.False(ServiceOf(Main, role).Service["ports"].Exists, $"{role} publishes ports on the host (it cannot be scaled then)");
        Assert.Contains(services["qdrant"]["ports"].Items, p => Published(p) == (6333, 6333));
        Assert.Contains(services["qdrant"]["ports"].Items, p => Published(p) == (6334, 6334));
    }

    [Fact]
    public void Roles_wait_for_healthy_engines_and_every_awaited_health_is_defined()
    {
        var services = Main["services"];
        foreach (var role in PlatformContract.Roles)
        {
            var (name, service) = ServiceOf(Main, role);
            var depends = service["depends_on"];
            foreach (var engine in new[] { "redis", "rabbitmq", "postgres", "qdrant" })
                Assert.True(depends[engine]["condition"].Str == "service_healthy", $"{name} does not wait for {engine} to be healthy");
            foreach (var (dependency, condition) in depends.Entries)
            {
                Assert.True(services[dependency].Exists, $"{name} depends on {dependency}, which is not a service");
                if (condition["condition"].Str != "service_healthy")
                    continue;
                // A health the compose file defines, or the HEALTHCHECK of the image the service builds.
                var dockerfile = services[dependency]["build"]["dockerfile"].Str;
                var hasCheck = services[dependency]["healthcheck"]["test"].Exists
                    || (dockerfile is not null && Dockerfile.Load(RepoPaths.InRepo(dockerfile)).Final.All("HEALTHCHECK").Any());
                Assert.True(hasCheck, $"{name} waits for {dependency} to be healthy, but {dependency} has no health check");
            }
        }
        // The gateway is an Orleans client: it needs a silo's gateway before it connects.
        Assert.Equal("service_healthy", services["gateway"]["depends_on"]["retrieval"]["condition"].Str);
    }

    [Fact]
    public void Engines_keep_their_data_in_volumes_and_check_their_health()
    {
        var s = Main["services"];
        Assert.Matches(@"^rabbitmq:[0-9.]+-management$", s["rabbitmq"]["image"].Required);
        Assert.Contains(s["rabbitmq"]["volumes"].Items, v => v.Required.Contains(":/var/lib/rabbitmq", StringComparison.Ordinal));
        Assert.Contains("rabbitmq-diagnostics", s["rabbitmq"]["healthcheck"]["test"].Items.Select(t => t.Str));

        var redisCommand = s["redis"]["command"].Items.Select(c => c.Str).ToList();
        Assert.Equal(["redis-server", "--appendonly", "yes"], redisCommand);
        Assert.Contains(s["redis"]["volumes"].Items, v => v.Required.EndsWith(":/data:rw", StringComparison.Ordinal) || v.Required.EndsWith(":/data", StringComparison.Ordinal));

        Assert.Matches(@"^postgres:15(\.|$)", s["postgres"]["image"].Required);
        Assert.Equal("platform", s["postgres"]["environment"]["POSTGRES_DB"].Str);
        Assert.Contains(s["postgres"]["volumes"].Items, v => v.Required.Contains(":/var/lib/postgresql/data", StringComparison.Ordinal));
        Assert.Contains("pg_isready", s["postgres"]["healthcheck"]["test"].Items.Select(t => t.Str));

        Assert.StartsWith("qdrant/qdrant:", s["qdrant"]["image"].Required);
        Assert.Contains(s["qdrant"]["volumes"].Items, v => v.Required.Contains(":/qdrant/storage", StringComparison.Ordinal));

        foreach (var volume in new[] { "rabbitmq-data", "redis-data", "postgres-data", "qdrant-data" })
            Assert.True(Main["volumes"].Keys.Contains(volume), $"volume {volume} is not declared");
    }

    [Fact]
    public void Cpu_override_replaces_the_gpu_encoder_with_a_cpu_build()
    {
        var services = Cpu["services"];
        // Nothing started by default reserves a GPU: the GPU encoder is behind a profile.
        foreach (var (name, service) in services.Entries.Where(s => !s.Value["profiles"].Exists))
            Assert.False(service["deploy"]["resources"]["reservations"]["devices"].Exists, $"{name} still reserves a device");
        Assert.Contains("gpu", services["encoder"]["profiles"].Items.Select(p => p.Str));

        var (name2, cpu) = ServiceOf(Cpu, PlatformContract.Encoder);
        Assert.NotEqual("encoder", name2);
        Assert.Equal("false", cpu["build"]["args"]["PLATFORM_GPU"].Str);
        Assert.Equal("platform/encoder:latest", cpu["image"].Str);
        Assert.Contains(cpu["volumes"].Items, v => v.Required.Split(':') is [_, "/data", ..]);

        // The same settings as the GPU encoder, apart from the device and how much it takes on at once.
        var gpuEnv = Environment(ServiceOf(Main, PlatformContract.Encoder).Service);
        var cpuEnv = Environment(cpu);
        Assert.Equal("cpu", cpuEnv["Platform__Devices"]);
        string[] differ = ["Platform__Devices", "Bus__ConcurrencyPerDevice"];
        Assert.Equal(gpuEnv.Where(kv => !differ.Contains(kv.Key)).OrderBy(kv => kv.Key),
            cpuEnv.Where(kv => !differ.Contains(kv.Key)).OrderBy(kv => kv.Key));
        Assert.Equal(ServiceOf(Main, PlatformContract.Encoder).Service["depends_on"].Keys.Order(), cpu["depends_on"].Keys.Order());
    }

    [Fact]
    public void Collector_runs_the_repository_config()
    {
        var collector = Main["services"]["otel-collector"];
        var mount = Assert.Single(collector["volumes"].Items).Required.Split(':');
        Assert.Equal(RepoPaths.InRepo("deploy", "otel-collector.yaml"), mount[0]);
        Assert.Contains($"--config={mount[1]}", collector["command"].Items.Select(c => c.Str));
        Assert.Contains(collector["ports"].Items, p => Published(p) == (4317, 4317));
    }

    private static (int Published, int Target)? Published(Y port)
    {
        // docker-compose 1.29 prints short syntax as "8080:8080" and long syntax as a mapping.
        if (port.Str is { } s && s.Split(':') is [.., var host, var container])
            return (int.Parse(host), int.Parse(container.Split('/')[0]));
        if (port["target"].Str is { } target)
            return (int.Parse(port["published"].Required), int.Parse(target));
        return null;
    }
}
