namespace Platform.Cli;

/// <summary>Finds what ships with the platform (model packages, the demo catalog) beside the binary or in the source tree.</summary>
public static class BundledAssets
{
    /// <summary>The first of AppContext.BaseDirectory/<paramref name="relative"/> and each ancestor's that holds <paramref name="marker"/>.</summary>
    public static string? Find(string relative, string marker, List<string>? tried = null)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, relative);
            tried?.Add(candidate);
            if (File.Exists(Path.Combine(candidate, marker)))
                return candidate;
        }
        return null;
    }
}

/// <summary>Finds the model package to use when none is named.</summary>
public static class ModelLocator
{
    public const string EnvironmentVariable = "PLATFORM_MODEL";
    public const string BundledName = "shopping-clip";

    public static string Default()
    {
        if (Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } fromEnv)
            return fromEnv;
        var tried = new List<string>();
        return BundledAssets.Find(Path.Combine("models", BundledName), "model.json", tried)
            ?? throw new DirectoryNotFoundException(
                $"no model package found; pass --model DIR or set {EnvironmentVariable}. Looked in: {string.Join(", ", tried)}");
    }
}

/// <summary>Finds the bundled demo catalog.</summary>
public static class DemoCatalogLocator
{
    public static string? Default() =>
        BundledAssets.Find(Path.Combine("models", "demo-catalog"), "catalog.jsonl") is { } dir ? Path.Combine(dir, "catalog.jsonl") : null;
}
