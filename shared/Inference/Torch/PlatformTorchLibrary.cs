using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Loader;
using System.Text;

namespace Platform.Inference.Torch;

/// <summary>
/// Finds and loads libplatform_torch.so, in order: $PLATFORM_TORCH_SHIM (full path), the app folder, the app's
/// runtimes/linux-x64/native folder, then shared/Inference/native/build/ of a source tree above the app folder
/// (so tests and tools run straight from a checkout). A failure lists every path tried and why it failed.
/// </summary>
internal static class PlatformTorchLibrary
{
    public const string FileName = "libplatform_torch.so";
    public const string EnvironmentVariable = "PLATFORM_TORCH_SHIM";

    private static readonly string[] SourceTreeBuild = ["shared", "Inference", "native", "build", FileName];

    // The search runs once; a failure is cached too, so every caller gets the same complete report.
    private static readonly Lazy<nint> Handle = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);
    private static int _registered;

    /// <summary>Loads the shim (once) or throws <see cref="TorchLibraryNotFoundException"/>.</summary>
    public static nint EnsureLoaded() => Handle.Value;

    /// <summary>Routes DllImport("platform_torch") in this assembly to <see cref="EnsureLoaded"/>.</summary>
    public static void RegisterResolver()
    {
        if (Interlocked.Exchange(ref _registered, 1) != 0)
            return;
        var assembly = typeof(PlatformTorchLibrary).Assembly;
        try
        {
            NativeLibrary.SetDllImportResolver(assembly, Resolve);
        }
        catch (InvalidOperationException)
        {
            // An assembly has a single resolver slot; if other code in Platform.Inference took it, fall back to the
            // load-context event, which runs when default probing fails.
            AssemblyLoadContext.Default.ResolvingUnmanagedDll += (asm, name) =>
                asm == assembly ? Resolve(name, asm, null) : 0;
        }
    }

    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath) =>
        libraryName == NativeMethods.Library ? EnsureLoaded() : 0; // 0: default probing for any other library

    /// <summary>Every candidate, in search order.</summary>
    internal static IEnumerable<(string Path, string Origin)> Candidates()
    {
        var fromEnv = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(fromEnv))
            yield return (fromEnv, $"${EnvironmentVariable}");

        var baseDir = AppContext.BaseDirectory;
        yield return (Path.Combine(baseDir, FileName), "app folder");
        yield return (Path.Combine(baseDir, "runtimes", "linux-x64", "native", FileName), "app runtimes folder");

        for (var dir = new DirectoryInfo(baseDir); dir is not null; dir = dir.Parent)
            yield return (Path.Combine([dir.FullName, .. SourceTreeBuild]), "source-tree build");
    }

    private static nint Load() => LoadFirst(Candidates());

    /// <summary>Loads the first candidate that exists and loads; otherwise throws with one line per candidate.</summary>
    internal static nint LoadFirst(IEnumerable<(string Path, string Origin)> candidates)
    {
        var report = new StringBuilder();
        foreach (var (path, origin) in candidates)
        {
            if (!File.Exists(path))
            {
                report.Append("\n  ").Append(path).Append(" (").Append(origin).Append("): not found");
                continue;
            }
            try
            {
                return NativeLibrary.Load(path);
            }
            catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
            {
                // Typically libtorch itself is missing or ABI-mismatched; dlerror's text says which.
                report.Append("\n  ").Append(path).Append(" (").Append(origin).Append("): failed to load: ").Append(e.Message);
            }
        }
        throw new TorchLibraryNotFoundException(
            $"Could not load the native libtorch shim {FileName}. Build it with `dotnet build shared/Inference` " +
            $"(needs: apt-get install libtorch-dev cmake g++) or set {EnvironmentVariable} to its full path. Tried:{report}");
    }
}
