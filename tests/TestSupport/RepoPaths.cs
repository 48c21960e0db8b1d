namespace Platform.Tests;

/// <summary>Locates the repository root and the ../shared folder beside it, for tests that read committed fixtures.</summary>
public static class RepoPaths
{
    /// <summary>The repository root: the first ancestor of the test binary that holds Platform.sln.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>../shared beside the repository, or null when this checkout has none.</summary>
    public static string? SharedData
    {
        get
        {
            var dir = Path.GetFullPath(Path.Combine(Root, "..", "shared", "data"));
            return Directory.Exists(dir) ? dir : null;
        }
    }

    /// <summary>A path under ../shared/data; skips the calling test, saying why, when it is absent.</summary>
    public static string RequireShared(string relative)
    {
        var data = SharedData;
        Assert.SkipWhen(data is null, "../shared/data is not beside this checkout; this test reads its files in place.");
        var path = Path.Combine(data!, relative);
        Assert.SkipUnless(File.Exists(path) || Directory.Exists(path), $"{path} is absent from ../shared.");
        return path;
    }

    public static string InRepo(params string[] parts) => Path.Combine([Root, .. parts]);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Platform.sln")))
                return dir.FullName;
        }
        throw new InvalidOperationException($"No Platform.sln above {AppContext.BaseDirectory}");
    }
}
