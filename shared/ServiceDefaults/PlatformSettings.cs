using Microsoft.Extensions.Configuration;

namespace Platform.ServiceDefaults;

/// <summary>Where a service finds its data and model (section <c>Platform</c>: <c>Data</c>, <c>Model</c>, <c>Devices</c>).</summary>
public sealed record PlatformSettings(string DataDirectory, string? ModelDirectory, IReadOnlyList<string> Devices)
{
    public static PlatformSettings From(IConfiguration configuration)
    {
        var section = configuration.GetSection("Platform");
        var devices = (section["Devices"] ?? "cpu").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return new PlatformSettings(Path.GetFullPath(section["Data"] ?? ".data"), section["Model"] is { } m ? Path.GetFullPath(m) : null, devices);
    }

    public string RequireModel() =>
        ModelDirectory ?? throw new InvalidOperationException("Platform:Model (the model package folder) is not set");
}
