using System.Collections.Concurrent;
using Platform.Tests;

namespace Platform.Deploy.Tests.Support;

/// <summary>
/// The deployment files as the tools render them, each rendered once per test run: <c>docker-compose config</c> of a
/// set of compose files, and <c>kubectl kustomize</c> of an overlay. A failing render fails the test with the
/// tool's own message; a missing tool skips it.
/// </summary>
public static class Rendered
{
    private static readonly ConcurrentDictionary<string, Lazy<Y>> compose = new();
    private static readonly ConcurrentDictionary<string, Lazy<IReadOnlyList<Y>>> kustomize = new();

    /// <summary>The merged compose configuration, with every variable at its default (an empty env file, no .env).</summary>
    public static Y Compose(params string[] files)
    {
        var tool = Tools.RequireDockerCompose();
        return compose.GetOrAdd(string.Join('|', files), _ => new Lazy<Y>(() =>
        {
            var emptyEnv = Path.Combine(Path.GetTempPath(), $"platform-deploy-tests-{Environment.ProcessId}.env");
            File.WriteAllText(emptyEnv, "");
            var args = new List<string> { "--env-file", emptyEnv, "--project-directory", RepoPaths.Root };
            foreach (var f in files)
                args.AddRange(["-f", f]);
            args.Add("config");
            // The defaults are what is checked: variables a developer has set must not change the output.
            var clear = new Dictionary<string, string?>();
            foreach (var v in ComposeVariables)
                clear[v] = null;
            var result = Tools.Run(tool, args, clear);
            Assert.True(result.ExitCode == 0, $"docker-compose {string.Join(' ', args)} failed ({result.ExitCode}):\n{result.Stderr}");
            return Y.Document(result.Stdout, string.Join('+', files));
        })).Value;
    }

    /// <summary>Every object of a rendered kustomization (<c>k8s/overlays/NAME</c> or <c>k8s/base</c>).</summary>
    public static IReadOnlyList<Y> Kustomize(string folder)
    {
        var tool = Tools.RequireKubectl();
        return kustomize.GetOrAdd(folder, _ => new Lazy<IReadOnlyList<Y>>(() =>
        {
            var result = Tools.Run(tool, ["kustomize", folder]);
            Assert.True(result.ExitCode == 0, $"kubectl kustomize {folder} failed ({result.ExitCode}):\n{result.Stderr}");
            return Y.Documents(result.Stdout, folder).Where(d => d.Exists).ToList();
        })).Value;
    }

    /// <summary>The variables docker-compose.yml substitutes (all have defaults there).</summary>
    public static readonly string[] ComposeVariables =
        ["PLATFORM_TAG", "RABBITMQ_USER", "RABBITMQ_PASSWORD", "POSTGRES_USER", "POSTGRES_PASSWORD"];

    public const string MainCompose = "docker-compose.yml";
    public const string CpuCompose = "docker-compose.cpu.yml";
    public const string CpuOverlay = "k8s/overlays/cpu";
    public const string GpuOverlay = "k8s/overlays/gpu";
}

/// <summary>Helpers over rendered Kubernetes objects.</summary>
public static class K8s
{
    public static IEnumerable<Y> OfKind(this IEnumerable<Y> objects, string kind) => objects.Where(o => o["kind"].Str == kind);

    public static Y Named(this IEnumerable<Y> objects, string kind, string name) =>
        objects.OfKind(kind).SingleOrDefault(o => o["metadata"]["name"].Str == name)
        ?? throw new Xunit.Sdk.XunitException($"no {kind} named {name}");

    public static Y PodSpec(this Y workload) => workload["spec"]["template"]["spec"];

    public static IReadOnlyList<Y> Containers(this Y workload) => workload.PodSpec()["containers"].Items;

    public static Y Container(this Y workload, string name) =>
        workload.Containers().SingleOrDefault(c => c["name"].Str == name)
        ?? throw new Xunit.Sdk.XunitException($"{workload["metadata"]["name"].Str} has no container {name}");

    /// <summary>A probe's or Service's port as a number: numeric, or a container port's name.</summary>
    public static int ResolvePort(this Y container, Y port)
    {
        var text = port.Required;
        if (int.TryParse(text, out var number))
            return number;
        var named = container["ports"].Items.SingleOrDefault(p => p["name"].Str == text)
            ?? throw new Xunit.Sdk.XunitException($"{port.Path}: no container port named {text}");
        return int.Parse(named["containerPort"].Required);
    }

    public static IReadOnlySet<int> ContainerPorts(this Y container) =>
        container["ports"].Items.Select(p => int.Parse(p["containerPort"].Required)).ToHashSet();

    public static Y? Env(this Y container, string name) => container["env"].Items.SingleOrDefault(e => e["name"].Str == name);

    /// <summary>True when every label of the selector is on the pod template.</summary>
    public static bool Selects(this Y selector, Y workload)
    {
        var labels = workload["spec"]["template"]["metadata"]["labels"];
        var wanted = selector.Entries;
        return wanted.Count > 0 && wanted.All(kv => labels[kv.Key].Str == kv.Value.Str);
    }
}
