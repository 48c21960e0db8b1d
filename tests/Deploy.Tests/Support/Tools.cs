using System.Diagnostics;

namespace Platform.Deploy.Tests.Support;

/// <summary>The command-line tools the tests run, found on PATH (or named by an environment variable).</summary>
public static class Tools
{
    /// <summary>docker-compose 1.29 (Debian's docker-compose): <c>config</c> validates and renders a compose file.</summary>
    public static string? DockerCompose { get; } = Find("PLATFORM_DOCKER_COMPOSE", "docker-compose");

    /// <summary>kubectl with its built-in kustomize (Debian's kubernetes-client, or any newer kubectl).</summary>
    public static string? Kubectl { get; } = Find("PLATFORM_KUBECTL", "kubectl");

    public static string? Bash { get; } = Find("PLATFORM_BASH", "bash");

    public static string RequireDockerCompose()
    {
        Assert.SkipWhen(DockerCompose is null,
            "docker-compose is not on PATH (Debian: apt-get install docker-compose; .ci/setup installs it); compose files not validated");
        return DockerCompose!;
    }

    public static string RequireKubectl()
    {
        Assert.SkipWhen(Kubectl is null,
            "kubectl is not on PATH (Debian: apt-get install kubernetes-client; .ci/setup installs it); kustomize overlays not rendered");
        return Kubectl!;
    }

    public static string RequireBash()
    {
        Assert.SkipWhen(Bash is null, "bash is not on PATH; the images' health check script is not exercised");
        return Bash!;
    }

    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    /// <summary>Runs a tool in the repository root with a bounded wait; the environment can be trimmed and added to.</summary>
    public static Result Run(string file, IEnumerable<string> args, IReadOnlyDictionary<string, string?>? environment = null,
        TimeSpan? timeout = null)
    {
        var start = new ProcessStartInfo(file)
        {
            WorkingDirectory = Platform.Tests.RepoPaths.Root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args)
            start.ArgumentList.Add(a);
        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
                start.Environment.Remove(key);
            else
                start.Environment[key] = value;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{file} did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout ?? TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish in time");
        }
        process.WaitForExit();
        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }

    private static string? Find(string variable, string name)
    {
        if (Environment.GetEnvironmentVariable(variable) is { Length: > 0 } named)
            return File.Exists(named) ? named : null;
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
                return candidate;
        }
        return null;
    }
}
