using System.Text;
using Platform.Deploy.Tests.Support;
using static Platform.Deploy.Tests.Support.Rendered;

namespace Platform.Deploy.Tests;

/// <summary>k8s/overlays/cpu and k8s/overlays/gpu as kubectl's kustomize renders them.</summary>
public sealed class KustomizeTests
{
    public static TheoryData<string> Overlays => new(CpuOverlay, GpuOverlay);

    public static TheoryData<string, string> OverlayRoles
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (var overlay in new[] { CpuOverlay, GpuOverlay })
                foreach (var role in PlatformContract.Roles)
                    data.Add(overlay, role.Name);
            return data;
        }
    }

    [Theory, MemberData(nameof(Overlays))]
    public void Every_role_is_a_deployment_with_a_service_selecting_its_pods(string overlay)
    {
        var objects = Kustomize(overlay);
        Assert.Equal(PlatformContract.Roles.Select(r => r.Name).Order(), objects.OfKind("Deployment").Select(d => d["metadata"]["name"].Required).Order());
        foreach (var role in PlatformContract.Roles)
        {
            var deployment = objects.Named("Deployment", role.Name);
            Assert.True(deployment["spec"]["selector"]["matchLabels"].Selects(deployment), $"{role}: the selector does not match its own pods");
            var service = objects.Named("Service", role.Name);
            Assert.True(service["spec"]["selector"].Selects(deployment), $"Service {role} selects no {role} pods");
            var container = deployment.Container(role.Name);
            foreach (var port in service["spec"]["ports"].Items)
                Assert.Contains(container.ResolvePort(port["targetPort"]), container.ContainerPorts());
            Assert.All(objects, o => Assert.Equal("platform", o["kind"].Str == "Namespace" ? "platform" : o["metadata"]["namespace"].Str));
        }
    }

    [Theory, MemberData(nameof(OverlayRoles))]
    public void Container_probes_health_on_8080_and_waits_for_start(string overlay, string name)
    {
        var container = Kustomize(overlay).Named("Deployment", name).Container(name);
        foreach (var (probe, path) in new[] { ("livenessProbe", "/health/live"), ("readinessProbe", "/health/ready"), ("startupProbe", "/health/live") })
        {
            var get = container[probe]["httpGet"];
            Assert.True(get.Exists, $"{name} in {overlay} has no {probe}");
            Assert.Equal(path, get["path"].Str);
            Assert.Equal(Role.Http, container.ResolvePort(get["port"]));
        }
        // The startup probe covers the longest start (model load, index rebuild) so liveness can stay strict.
        var startup = container["startupProbe"];
        var budget = int.Parse(startup["periodSeconds"].Required) * int.Parse(startup["failureThreshold"].Required);
        Assert.True(budget >= 120, $"{name}: the startup probe gives up after {budget} s");
    }

    [Theory, MemberData(nameof(OverlayRoles))]
    public void Container_has_requests_and_limits_and_runs_as_the_image_user(string overlay, string name)
    {
        var deployment = Kustomize(overlay).Named("Deployment", name);
        foreach (var container in deployment.Containers())
        {
            foreach (var kind in new[] { "requests", "limits" })
                foreach (var resource in new[] { "cpu", "memory" })
                    Assert.True(container["resources"][kind][resource].Exists, $"{name} in {overlay}: no {kind}.{resource}");
            Assert.Equal("false", container["securityContext"]["allowPrivilegeEscalation"].Str);
            Assert.Contains("ALL", container["securityContext"]["capabilities"]["drop"].Items.Select(c => c.Str));
        }
        var pod = deployment.PodSpec()["securityContext"];
        Assert.Equal("true", pod["runAsNonRoot"].Str);
        Assert.Equal(PlatformContract.AppUid.ToString(), pod["runAsUser"].Str);
        Assert.Equal(PlatformContract.AppUid.ToString(), pod["fsGroup"].Str);
        var data = deployment.Containers()[0]["volumeMounts"].Items.SingleOrDefault(m => m["mountPath"].Str == "/data");
        Assert.NotNull(data);
        Assert.Contains(deployment.PodSpec()["volumes"].Items, v => v["name"].Str == data["name"].Str);
    }

    [Theory, MemberData(nameof(OverlayRoles))]
    public void Silos_advertise_the_pod_ip_and_name_and_clients_open_no_orleans_ports(string overlay, string name)
    {
        var role = PlatformContract.RoleNamed(name);
        var deployment = Kustomize(overlay).Named("Deployment", name);
        var container = deployment.Container(name);
        Assert.Equal(role.Ports.Order(), container.ContainerPorts().Order());
        if (role.Silo)
        {
            Assert.Equal("status.podIP", container.Env("Orleans__AdvertisedIP")?["valueFrom"]["fieldRef"]["fieldPath"].Str);
            Assert.Equal("metadata.name", container.Env("Orleans__SiloName")?["valueFrom"]["fieldRef"]["fieldPath"].Str);
            Assert.Equal("11111", container.Env("Orleans__SiloPort")?["value"].Str);
            Assert.Equal("30000", container.Env("Orleans__GatewayPort")?["value"].Str);
            var grace = deployment.PodSpec()["terminationGracePeriodSeconds"].Str;
            Assert.True(grace is not null && int.Parse(grace) >= 45, $"{name}: terminationGracePeriodSeconds {grace ?? "unset"} leaves a silo too little time to leave the cluster");
        }
        else
        {
            Assert.All(PlatformContract.SiloOnlyKeys, k => Assert.Null(container.Env(k)));
        }
    }

    [Theory, MemberData(nameof(Overlays))]
    public void Only_the_gpu_overlay_gives_the_encoder_a_gpu(string overlay)
    {
        var objects = Kustomize(overlay);
        var encoder = objects.Named("Deployment", "encoder");
        var container = encoder.Container("encoder");
        var gpu = overlay == GpuOverlay;
        if (gpu)
        {
            Assert.Equal("1", container["resources"]["limits"]["nvidia.com/gpu"].Str);
            Assert.Equal("1", container["resources"]["requests"]["nvidia.com/gpu"].Str);
            Assert.Equal("true", encoder.PodSpec()["nodeSelector"]["nvidia.com/gpu.present"].Str);
            Assert.Contains(encoder.PodSpec()["tolerations"].Items,
                t => t["key"].Str == "nvidia.com/gpu" && t["effect"].Str == "NoSchedule" && (t["operator"].Str == "Exists" || t["value"].Exists));
            Assert.Equal("cuda:0", container.Env("Platform__Devices")?["value"].Str);
            Assert.Equal("platform/encoder:latest-gpu", container["image"].Str);
        }
        else
        {
            Assert.Equal("cpu", container.Env("Platform__Devices")?["value"].Str);
            Assert.Equal("platform/encoder:latest", container["image"].Str);
            Assert.True(ParseCpu(container["resources"]["requests"]["cpu"].Required) >= 2, "the CPU encoder asks for fewer than 2 cores");
        }
        // Nothing else asks for a GPU or is steered to GPU nodes, in either overlay.
        foreach (var deployment in objects.OfKind("Deployment"))
        {
            var isGpuEncoder = gpu && deployment == encoder;
            var pod = deployment.PodSpec();
            Assert.Equal(isGpuEncoder, pod["nodeSelector"].Exists);
            Assert.Equal(isGpuEncoder, pod["tolerations"].Exists);
            foreach (var c in deployment.Containers())
            {
                Assert.Equal(isGpuEncoder, c["resources"]["limits"]["nvidia.com/gpu"].Exists);
                Assert.Equal(isGpuEncoder, c["resources"]["requests"]["nvidia.com/gpu"].Exists);
            }
        }
    }

    [Theory, MemberData(nameof(Overlays))]
    public void Gateway_retrieval_and_encoder_have_disruption_budgets_and_gateway_and_retrieval_autoscale(string overlay)
    {
        var objects = Kustomize(overlay);
        foreach (var name in new[] { "gateway", "retrieval", "encoder" })
        {
            var pdb = objects.OfKind("PodDisruptionBudget").SingleOrDefault(p => p["spec"]["selector"]["matchLabels"].Selects(objects.Named("Deployment", name)));
            Assert.True(pdb is not null, $"no PodDisruptionBudget covers {name}");
            Assert.Equal("policy/v1", pdb["apiVersion"].Str);
            Assert.True(pdb["spec"]["minAvailable"].Exists || pdb["spec"]["maxUnavailable"].Exists);
        }
        var hpas = objects.OfKind("HorizontalPodAutoscaler").ToList();
        Assert.Equal(["gateway", "retrieval"], hpas.Select(h => h["spec"]["scaleTargetRef"]["name"].Required).Order());
        foreach (var hpa in hpas)
        {
            Assert.Equal("autoscaling/v2", hpa["apiVersion"].Str);
            Assert.Equal("Deployment", hpa["spec"]["scaleTargetRef"]["kind"].Str);
            Assert.True(int.Parse(hpa["spec"]["minReplicas"].Required) >= 2);
            Assert.True(int.Parse(hpa["spec"]["maxReplicas"].Required) > int.Parse(hpa["spec"]["minReplicas"].Required));
            Assert.Contains(hpa["spec"]["metrics"].Items, m => m["resource"]["name"].Str == "cpu");
        }
    }

    [Theory, MemberData(nameof(Overlays))]
    public void Settings_come_from_the_generated_config_map_and_secret_with_contract_keys_only(string overlay)
    {
        var objects = Kustomize(overlay);
        var configMaps = objects.OfKind("ConfigMap").ToList();
        var secrets = objects.OfKind("Secret").ToList();
        foreach (var deployment in objects.OfKind("Deployment"))
        {
            var name = deployment["metadata"]["name"].Required;
            var container = deployment.Container(name);
            var from = container["envFrom"].Items;
            var map = configMaps.Single(c => c["metadata"]["name"].Str == from.Single(f => f["configMapRef"].Exists)["configMapRef"]["name"].Str);
            var secret = secrets.Single(s => s["metadata"]["name"].Str == from.Single(f => f["secretRef"].Exists)["secretRef"]["name"].Str);

            var keys = map["data"].Keys.Concat(secret["data"].Keys).Concat(container["env"].Items.Select(e => e["name"].Required)).ToList();
            Assert.All(keys, k => Assert.True(PlatformContract.Keys.Contains(k), $"{name}: {k} is not a configuration key the platform reads"));
            Assert.Equal(keys.Count, keys.Distinct().Count());
            if (name != "encoder")
                Assert.DoesNotContain(keys, PlatformContract.EncoderOnlyKeys.Contains);
            Assert.Equal(name, container.Env("OTEL_SERVICE_NAME")?["value"].Str);
        }
        var settings = Assert.Single(configMaps)["data"];
        foreach (var (key, value) in PlatformContract.FixedValues.Where(kv => !PlatformContract.SiloOnlyKeys.Contains(kv.Key)))
            Assert.Equal(value, settings[key].Str);
    }

    [Theory, MemberData(nameof(Overlays))]
    public void Example_secret_holds_only_placeholders_pointing_at_the_engines(string overlay)
    {
        var secret = Assert.Single(Kustomize(overlay).OfKind("Secret"));
        var values = secret["data"].Entries.ToDictionary(e => e.Key, e => Encoding.UTF8.GetString(Convert.FromBase64String(string.Concat(e.Value.Required.Where(c => !char.IsWhiteSpace(c))))));
        Assert.Equal(["Bus__RabbitMq__Uri", "Catalog__ConnectionString"], values.Keys.Order());
        Assert.All(values.Values, v => Assert.Contains("CHANGE-ME", v));
        Assert.Matches(@"^amqp://[^:]+:CHANGE-ME@rabbitmq:5672/$", values["Bus__RabbitMq__Uri"]);
        Assert.Matches(@"^Host=postgres;Port=5432;Username=[^;]+;Password=CHANGE-ME;Database=platform$", values["Catalog__ConnectionString"]);
    }

    private static double ParseCpu(string quantity) =>
        quantity.EndsWith('m') ? double.Parse(quantity[..^1]) / 1000 : double.Parse(quantity);
}
