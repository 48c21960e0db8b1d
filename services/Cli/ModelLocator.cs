namespace Platform.Cli;

/// <summary>Finds the model package to use when none is named.</summary>
public static class ModelLocator
{
    public const string EnvironmentVariable = "PLATFORM_MODEL";
    public const string BundledName = "test-clip";

    public static string Default()
    {
        var tried = new List<string>();
        if (Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } fromEnv)
            return fromEnv;
        var beside = Path.Combine(AppContext.BaseDirectory, "models", BundledName);
        tried.Add(beside);
        if (File.Exists(Path.Combine(beside, "model.json")))
            return beside;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "models", BundledName);
            tried.Add(candidate);
            if (File.Exists(Path.Combine(candidate, "model.json")))
                return candidate;
        }
        throw new DirectoryNotFoundException(
            $"no model package found; pass --model DIR or set {EnvironmentVariable}. Looked in: {string.Join(", ", tried.Distinct())}");
    }
}
