using Platform.Deploy.Tests.Support;
using Platform.Tests;

namespace Platform.Deploy.Tests;

/// <summary>.dockerignore keeps host build outputs, local data and the training material out of the build context,
/// and nothing a Dockerfile copies.</summary>
public sealed class DockerIgnoreTests
{
    private static readonly DockerIgnore Ignore = DockerIgnore.Load(RepoPaths.InRepo(".dockerignore"));

    [Theory]
    [InlineData("services/Gateway/bin/Release/net10.0/Platform.Gateway.dll")]
    [InlineData("shared/Inference/obj/project.assets.json")]
    [InlineData(".data/catalog.db")]
    [InlineData(".git/HEAD")]
    [InlineData("models/data/build_dataset.py")]
    [InlineData("models/train/train.py")]
    [InlineData("models/demo-catalog/catalog.jsonl")]
    [InlineData("models/test-clip/model.json")]
    [InlineData("tests/Deploy.Tests/Platform.Deploy.Tests.csproj")]
    [InlineData("bench/Platform.Bench.csproj")]
    [InlineData("models/shopping-clip/model.json")]
    [InlineData("models/shopping-minilm/text_encoder.onnx")]
    [InlineData("models/shopping-minilm/image_encoder.onnx")]
    [InlineData("models/shopping-minilm/vocab.txt")]
    [InlineData("models/align/train_image.py")]
    public void Context_leaves_out(string path) => Assert.True(Ignore.Excludes(path), $"{path} would be sent to the Docker build");

    [Theory]
    [InlineData("models/shopping-minilm/model.json")]
    [InlineData("models/shopping-minilm/image_head.onnx")]
    [InlineData("models/shopping-minilm/text_encoder_cjk.onnx")]
    [InlineData("models/shopping-minilm/build.json")]
    [InlineData("models/pretrained/fetch_pretrained.py")]
    [InlineData("models/align/package.py")]
    [InlineData("Directory.Packages.props")]
    [InlineData("shared/Inference/Platform.Inference.csproj")]
    [InlineData("deploy/healthcheck.sh")]
    public void Context_keeps(string path) => Assert.False(Ignore.Excludes(path), $"{path} is left out of the Docker build");

    [Fact]
    public void The_matcher_follows_dockers_rules()
    {
        // Guards the checks above: a re-include wins only when it comes last, and a folder pattern covers its files.
        var ignore = new DockerIgnore(["a/*", "!a/keep", "**/obj/", "*.log"]);
        Assert.True(ignore.Excludes("a/drop/x"));
        Assert.False(ignore.Excludes("a/keep/x"));
        Assert.True(ignore.Excludes("deep/er/obj/y"));
        Assert.True(ignore.Excludes("obj/y"));
        Assert.True(ignore.Excludes("x.log"));
        Assert.False(ignore.Excludes("dir/x.log"));
        Assert.True(new DockerIgnore(["!a/keep", "a/*"]).Excludes("a/keep/x"));
    }

    private static readonly HashSet<string> Tracked = GitFiles();

    private static HashSet<string> GitFiles()
    {
        var git = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("git", ["-C", RepoPaths.Root, "ls-files", "-z"])
        {
            RedirectStandardOutput = true,
        })!;
        var listed = git.StandardOutput.ReadToEnd();
        git.WaitForExit();
        Assert.Equal(0, git.ExitCode);
        return [.. listed.Split('\0', StringSplitOptions.RemoveEmptyEntries)];
    }

    [Fact]
    public void Every_file_the_dockerfiles_copy_from_the_context_is_in_it()
    {
        foreach (var role in PlatformContract.Roles)
        {
            var file = Dockerfile.Load(RepoPaths.InRepo(role.DockerfilePath));
            var copies = file.Stages.SelectMany(s => s.All("COPY")).Where(c => !c.Words.Any(w => w.StartsWith("--from", StringComparison.Ordinal)));
            foreach (var source in copies.SelectMany(DockerfileTests.Sources))
            {
                var full = RepoPaths.InRepo(source.TrimEnd('/'));
                Assert.True(File.Exists(full) || Directory.Exists(full), $"{role.DockerfilePath} copies {source}, which is not in the repository");
                var files = File.Exists(full) ? [full] : Directory.GetFiles(full, "*", SearchOption.AllDirectories);
                // What git tracks: files a host built there (bin/, obj/, the model's towers) are the image's to build.
                var wanted = files.Select(f => Path.GetRelativePath(RepoPaths.Root, f).Replace('\\', '/')).Where(Tracked.Contains).ToList();
                Assert.NotEmpty(wanted);
                Assert.All(wanted, f => Assert.False(Ignore.Excludes(f), $"{role.DockerfilePath} copies {f}, which .dockerignore leaves out"));
            }
        }
    }
}
