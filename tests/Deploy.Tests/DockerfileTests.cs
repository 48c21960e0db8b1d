using System.Text.RegularExpressions;
using System.Xml.Linq;
using Platform.Deploy.Tests.Support;
using Platform.Tests;

namespace Platform.Deploy.Tests;

/// <summary>Each role's Dockerfile: how it builds (multi-stage, cached restore, the right project) and what it runs.</summary>
public sealed class DockerfileTests
{
    public static TheoryData<string> Roles => PlatformContract.RoleNames;

    private static Dockerfile Load(Role role)
    {
        var path = RepoPaths.InRepo(role.DockerfilePath);
        Assert.True(File.Exists(path), $"{role.DockerfilePath} is missing");
        return Dockerfile.Load(path);
    }

    [Theory, MemberData(nameof(Roles))]
    public void Dockerfile_is_multi_stage_with_an_sdk_build_and_a_runtime_image(string name)
    {
        var file = Load(PlatformContract.RoleNamed(name));
        Assert.True(file.Stages.Count >= 2, $"{name}: one stage only");
        Assert.StartsWith("mcr.microsoft.com/dotnet/sdk:", file.Stages[0].Base);
        // The image the role runs in must not carry the SDK: the SDK stages (build, the encoder's pretrained) are only
        // copied from, never built on.
        var sdk = file.Stages.Where(s => s.Base.Contains("/sdk:", StringComparison.Ordinal)).Select(s => s.Name).ToHashSet();
        Assert.DoesNotContain("/sdk:", file.Final.Base, StringComparison.Ordinal);
        Assert.DoesNotContain(file.Stages, s => sdk.Contains(s.Base));
        Assert.Contains(file.Final.All("COPY"), c => c.Words.Contains("--from=build"));
    }

    [Theory, MemberData(nameof(Roles))]
    public void Dockerfile_publishes_the_role_project_in_release_and_runs_its_assembly(string name)
    {
        var role = PlatformContract.RoleNamed(name);
        var build = Load(role).Stages[0];
        var publish = build.All("RUN").SingleOrDefault(r => r.Args.StartsWith("dotnet publish", StringComparison.Ordinal));
        Assert.NotNull(publish);
        var project = publish.Words[2];
        Assert.Equal(role.Project, project);
        Assert.True(File.Exists(RepoPaths.InRepo(project)), $"{name} publishes {project}, which is not in the repository");
        Assert.Contains("-c Release", publish.Args);

        var entry = Instruction.ExecForm(Load(role).Final.All("ENTRYPOINT").Single().Args);
        Assert.Equal(["dotnet", $"{role.AssemblyName}.dll"], entry);
    }

    [Theory, MemberData(nameof(Roles))]
    public void Dockerfile_restores_from_project_files_before_it_copies_the_sources(string name)
    {
        var role = PlatformContract.RoleNamed(name);
        var build = Load(role).Stages[0];
        var restore = build.IndexOfRun("dotnet restore");
        var publish = build.IndexOfRun("dotnet publish");
        Assert.True(restore >= 0, $"{name}: no separate dotnet restore step, so every source change restores again");
        Assert.True(restore < publish);
        Assert.Contains("--no-restore", build.Instructions[publish].Args);

        var before = build.Instructions.Take(restore).Where(i => i.Keyword == "COPY").SelectMany(Sources).ToList();
        var after = build.Instructions.Skip(restore).Take(publish - restore).Where(i => i.Keyword == "COPY").SelectMany(Sources).ToList();
        // Before the restore only build files and project files, so the restored layer survives a source change.
        Assert.All(before, s => Assert.Matches(@"(\.csproj|\.props|\.targets|global\.json)$", s));
        foreach (var needed in new[] { "global.json", "Directory.Build.props", "Directory.Packages.props", "Directory.Build.targets" })
            Assert.Contains(needed, before);
        // Every project the role's project references (transitively) must be there for the restore to see it.
        foreach (var project in ProjectClosure(role.Project))
            Assert.True(before.Contains(project), $"{name}: {project} (referenced by {role.Project}) is not copied before the restore");
        // The sources come after, and they include the role's project folder and shared/.
        Assert.Contains("shared/", after);
        Assert.Contains(Path.GetDirectoryName(role.Project)!.Replace('\\', '/') + "/", after);
    }

    [Theory, MemberData(nameof(Roles))]
    public void Dockerfile_runs_as_a_non_root_user(string name)
    {
        var file = Load(PlatformContract.RoleNamed(name));
        var user = file.Final.All("USER").LastOrDefault();
        Assert.NotNull(user);
        Assert.DoesNotMatch(@"^(root|0)(:.*)?$", user.Args);
        // $APP_UID is the aspnet image's non-root user (1654); a stage that defines it itself must give it that value,
        // which the k8s manifests' runAsUser assumes.
        if (user.Args.Contains("APP_UID", StringComparison.Ordinal))
        {
            var uid = file.Stages.SelectMany(s => s.All("ENV")).Select(e => Regex.Match(e.Args, @"APP_UID=(\d+)")).Where(m => m.Success).ToList();
            Assert.All(uid, m => Assert.Equal(PlatformContract.AppUid.ToString(), m.Groups[1].Value));
        }
        else
            Assert.Equal(PlatformContract.AppUid.ToString(), user.Args);
    }

    [Theory, MemberData(nameof(Roles))]
    public void Dockerfile_health_check_asks_health_live_on_8080_with_the_copied_script(string name)
    {
        var final = Load(PlatformContract.RoleNamed(name)).Final;
        var check = final.All("HEALTHCHECK").SingleOrDefault();
        Assert.NotNull(check);
        var cmd = check.Args.IndexOf("CMD ", StringComparison.Ordinal);
        Assert.True(cmd >= 0, "HEALTHCHECK without CMD");
        Assert.Matches(@"--timeout=\d+s", check.Args[..cmd]);
        var command = Instruction.ExecForm(check.Args[(cmd + 4)..]);
        Assert.Equal(["healthcheck", "8080", "/health/live"], command);
        // The command is the repository's script, copied onto PATH in the image.
        Assert.Contains(final.All("COPY"), c => c.Words is [.., "deploy/healthcheck.sh", "/usr/local/bin/healthcheck"]);
    }

    [Theory, MemberData(nameof(Roles))]
    public void Dockerfile_exposes_exactly_the_role_ports_and_sets_the_contract_environment(string name)
    {
        var role = PlatformContract.RoleNamed(name);
        var final = Load(role).Final;
        var exposed = final.All("EXPOSE").SelectMany(e => e.Words).Select(int.Parse).ToHashSet();
        Assert.Equal(role.Ports.Order(), exposed.Order());

        var env = EnvOf(final);
        Assert.Equal("http://+:8080", env["ASPNETCORE_URLS"]);
        Assert.Equal("/data", env["Platform__Data"]);
        Assert.Equal("/app/models/shopping-minilm", env["Platform__Model"]);
        Assert.Equal(name, env["OTEL_SERVICE_NAME"]);
        Assert.All(env.Keys.Where(k => k.Contains("__") || k.StartsWith("OTEL_", StringComparison.Ordinal)),
            k => Assert.Contains(k, PlatformContract.Keys));
        // The model the images ship is the one Platform__Model names, and /data is a volume.
        Assert.Contains(final.All("COPY"), c => c.Words is [.., var from, "models/shopping-minilm/"] && from.EndsWith("models/shopping-minilm/", StringComparison.Ordinal));
        Assert.Contains(final.All("WORKDIR"), w => w.Args == "/app");
        Assert.Contains(final.All("VOLUME"), v => v.Args == "/data");
    }

    [Fact]
    public void Encoder_builds_the_model_towers_from_the_nuget_packages_and_checks_them()
    {
        // The towers are git-ignored and left out of the context: the image writes them as .ci/setup does, on Debian 12
        // (build.json's checksums are of its python3-onnx), and the final stage takes the checked package.
        var file = Load(PlatformContract.Encoder);
        var pretrained = file.StageNamed("pretrained")!;
        Assert.Contains(pretrained.All("RUN"), r => r.Args.Contains("models/pretrained/fetch_pretrained.py", StringComparison.Ordinal));
        var model = file.StageNamed("model")!;
        Assert.StartsWith("debian:bookworm", model.Base);
        Assert.Contains(model.All("RUN"), r => r.Args.Contains("python3-onnx", StringComparison.Ordinal));
        Assert.Contains(model.All("RUN"), r => r.Args.Contains("models/align/package.py", StringComparison.Ordinal));
        Assert.Contains(model.All("COPY"), c => c.Words is ["--from=pretrained", ..]);
        Assert.Contains(file.Final.All("COPY"), c => c.Words is ["--from=model", "/src/models/shopping-minilm/", "models/shopping-minilm/"]);
    }

    [Fact]
    public void Encoder_takes_the_cuda_build_of_onnx_runtime_by_a_build_argument()
    {
        var file = Load(PlatformContract.Encoder);
        Assert.Equal("false", file.GlobalArgDefaults["PLATFORM_GPU"]);
        var build = file.Stages[0];
        Assert.Contains(build.All("ARG"), a => a.Args == "PLATFORM_GPU");
        // PlatformGpu changes the package graph: restore and publish must both see it.
        Assert.Contains("-p:PlatformGpu=${PLATFORM_GPU}", build.Instructions[build.IndexOfRun("dotnet restore")].Args);
        Assert.Contains("-p:PlatformGpu=${PLATFORM_GPU}", build.Instructions[build.IndexOfRun("dotnet publish")].Args);

        // The argument picks the runtime stage: aspnet for false, a CUDA + cuDNN 9 base for true.
        Assert.Equal("runtime-${PLATFORM_GPU}", file.Final.Base);
        var gpu = file.StageNamed("runtime-true");
        var cpu = file.StageNamed("runtime-false");
        Assert.NotNull(gpu);
        Assert.NotNull(cpu);
        Assert.Equal("${CUDA_IMAGE}", gpu.Base);
        Assert.Matches(@"^nvidia/cuda:12\.[0-9.]+-cudnn-runtime-ubuntu", file.GlobalArgDefaults["CUDA_IMAGE"]);
        Assert.Contains(gpu.All("COPY"), c => c.Words.Contains("--from=aspnet") && c.Words.Contains("/usr/share/dotnet"));
        Assert.Contains(gpu.All("RUN"), r => r.Args.Contains("useradd", StringComparison.Ordinal) && r.Args.Contains("$APP_UID", StringComparison.Ordinal));
        Assert.Equal("aspnet", cpu.Base);
        Assert.StartsWith("mcr.microsoft.com/dotnet/aspnet:", file.StageNamed("aspnet")!.Base);
    }

    [Fact]
    public void Only_the_encoder_build_knows_about_gpus()
    {
        foreach (var role in PlatformContract.Roles.Where(r => r != PlatformContract.Encoder))
        {
            var text = File.ReadAllText(RepoPaths.InRepo(role.DockerfilePath));
            Assert.DoesNotContain("PlatformGpu", text);
            Assert.DoesNotContain("nvidia", text);
        }
    }

    [Fact]
    public void The_dockerfiles_list_every_shared_project_before_the_restore()
    {
        // A project added under shared/ and referenced later must not break an image build that restored without it.
        var shared = Directory.GetFiles(RepoPaths.InRepo("shared"), "*.csproj", SearchOption.AllDirectories)
            .Select(p => Path.GetRelativePath(RepoPaths.Root, p).Replace('\\', '/')).ToList();
        Assert.NotEmpty(shared);
        foreach (var role in PlatformContract.Roles)
        {
            var build = Load(role).Stages[0];
            var before = build.Instructions.Take(build.IndexOfRun("dotnet restore")).Where(i => i.Keyword == "COPY").SelectMany(Sources).ToHashSet();
            Assert.All(shared, p => Assert.Contains(p, before));
        }
    }

    internal static IEnumerable<string> Sources(Instruction copy)
    {
        var words = copy.Words.Where(w => !w.StartsWith("--", StringComparison.Ordinal)).ToArray();
        return words[..^1];
    }

    internal static Dictionary<string, string> EnvOf(Stage stage)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var e in stage.All("ENV"))
        {
            foreach (Match m in Regex.Matches(e.Args, @"(\S+?)=(\S*)"))
                env[m.Groups[1].Value] = m.Groups[2].Value;
        }
        return env;
    }

    /// <summary>The project and every project it references, transitively, relative to the repository root.</summary>
    internal static IReadOnlySet<string> ProjectClosure(string project)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>([project]);
        while (pending.TryPop(out var next))
        {
            if (!seen.Add(next))
                continue;
            var full = RepoPaths.InRepo(next);
            Assert.True(File.Exists(full), $"{next} is referenced but missing");
            foreach (var reference in XDocument.Load(full).Descendants("ProjectReference"))
            {
                var path = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(full)!, reference.Attribute("Include")!.Value));
                pending.Push(Path.GetRelativePath(RepoPaths.Root, path).Replace('\\', '/'));
            }
        }
        return seen;
    }
}
