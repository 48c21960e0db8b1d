using System.Globalization;
using NetVips;

namespace Platform.Inference.Imaging;

/// <summary>
/// Process-wide libvips start-up: checks that the libvips NetVips bound to is the copy bundled with
/// NetVips.Native (not a system one, such as Debian's libvips42 8.14 in /usr/lib), and says which one it is.
/// </summary>
public static class VipsRuntime
{
    /// <summary>The libvips line NetVips 3.2 and NetVips.Native 8.18 (Directory.Packages.props) are built for.</summary>
    internal const int ExpectedMajor = 8, ExpectedMinor = 18;

    private const string SoName = "libvips.so.42";

    private static readonly Lazy<(string Version, string Path)> Started = new(Start, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Starts libvips once and verifies it; throws <see cref="InvalidOperationException"/>, saying what was
    /// loaded from where, when it did not start or is not the bundled copy. Later calls repeat the first outcome.</summary>
    public static void EnsureStarted() => _ = Started.Value;

    /// <summary>The loaded libvips' version, e.g. "8.18.7".</summary>
    public static string Version => Started.Value.Version;

    /// <summary>The file the process mapped as libvips.</summary>
    public static string LibraryPath => Started.Value.Path;

    /// <summary>One line for a host's start-up log: version and file of the loaded libvips.</summary>
    public static string Describe() => $"libvips {Version} (NetVips.Native) from {LibraryPath}";

    private static (string, string) Start()
    {
        // NetVips' module initializer loaded libvips and called vips_init on first touch of the assembly; its
        // resolver tries the app's own native assets (runtimes/linux-x64/native) before the system's search path.
        if (!ModuleInitializer.VipsInitialized)
        {
            throw new InvalidOperationException(
                $"libvips did not start: {ModuleInitializer.Exception?.Message ?? "no reason given"}. It should load from "
                + $"{Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", SoName)} (NetVips.Native.linux-x64).",
                ModuleInitializer.Exception);
        }

        var version = string.Create(CultureInfo.InvariantCulture,
            $"{NetVips.NetVips.Version(0, false)}.{NetVips.NetVips.Version(1, false)}.{NetVips.NetVips.Version(2, false)}");
        var path = OperatingSystem.IsLinux()
            ? Verify(version, MappedLibvips(File.ReadAllText("/proc/self/maps")), AppContext.BaseDirectory)
            : "(not checked off Linux)";

        // No operation cache: it would keep decoded images alive between calls (memory), and results are never reused.
        Cache.Max = 0;
        return (version, path);
    }

    /// <summary>Distinct files named libvips.so.42* in the text of /proc/self/maps (whose last column is the path).</summary>
    internal static IReadOnlyList<string> MappedLibvips(string maps)
    {
        var paths = new List<string>();
        foreach (var line in maps.AsSpan().EnumerateLines())
        {
            var slash = line.IndexOf('/');
            if (slash < 0)
                continue;
            var path = line[slash..].TrimEnd().ToString();
            if (path.EndsWith(" (deleted)", StringComparison.Ordinal))
                path = path[..^" (deleted)".Length];
            if (Path.GetFileName(path).StartsWith(SoName, StringComparison.Ordinal) && !paths.Contains(path))
                paths.Add(path);
        }
        return paths;
    }

    /// <summary>
    /// The bundled libvips is the only one mapped, and lies under the application's folder; returns its path.
    /// A system libvips (by LD_PRELOAD, LD_LIBRARY_PATH, or a host whose deps.json lacks NetVips.Native's asset) is
    /// refused even beside the bundled one: its exported GLib/vips symbols would interpose on the bundled copy's.
    /// </summary>
    internal static string Verify(string version, IReadOnlyList<string> mapped, string baseDirectory)
    {
        const string Hint = "Only the libvips bundled with NetVips.Native.linux-x64 is supported: look for LD_PRELOAD or "
            + "LD_LIBRARY_PATH naming a system libvips, and check that runtimes/linux-x64/native/libvips.so.42 was deployed with the application.";
        var home = RealPath(baseDirectory);
        var foreign = mapped.Where(p => !IsUnder(RealPath(p), home)).ToList();
        if (foreign.Count > 0 && foreign.Count == mapped.Count)
            throw new InvalidOperationException($"libvips {version} was loaded from {string.Join(" and ", foreign)}, not the bundled copy under {home}. {Hint}");
        if (foreign.Count > 0)
        {
            throw new InvalidOperationException(
                $"a libvips other than the bundled one is loaded into the process: {string.Join(" and ", foreign)}, beside "
                + $"{string.Join(", ", mapped.Except(foreign))} (libvips {version}, which NetVips is bound to). {Hint}");
        }
        if (mapped.Count == 0)
            throw new InvalidOperationException($"libvips {version} is running but no {SoName} file is mapped into the process. {Hint}");
        if (mapped.Count > 1)
            throw new InvalidOperationException($"two libvips files are loaded: {string.Join(", ", mapped)}. {Hint}");

        var parts = version.Split('.');
        if (parts.Length < 2 || parts[0] != ExpectedMajor.ToString(CultureInfo.InvariantCulture)
            || parts[1] != ExpectedMinor.ToString(CultureInfo.InvariantCulture))
        {
            throw new InvalidOperationException(
                $"libvips {version} was loaded from {mapped[0]}; NetVips 3.2 needs {ExpectedMajor}.{ExpectedMinor}.x, the NetVips.Native version pinned in Directory.Packages.props.");
        }
        return mapped[0];
    }

    private static bool IsUnder(string path, string directory) =>
        path.StartsWith(Path.TrimEndingDirectorySeparator(directory) + "/", StringComparison.Ordinal);

    /// <summary>The path with every symbolic link along it resolved (the kernel reports mapped files so), as far as the
    /// components exist.</summary>
    private static string RealPath(string path)
    {
        var resolved = "/";
        foreach (var part in Path.GetFullPath(path).Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            var next = Path.Combine(resolved, part);
            FileSystemInfo info = Directory.Exists(next) ? new DirectoryInfo(next) : new FileInfo(next);
            var target = info.Exists ? info.ResolveLinkTarget(returnFinalTarget: true) : null;
            resolved = target is null ? next : Path.GetFullPath(target.FullName);
        }
        return resolved;
    }
}
