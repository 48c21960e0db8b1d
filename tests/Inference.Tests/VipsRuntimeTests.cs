using Platform.Inference.Imaging;

namespace Platform.Inference.Tests;

public sealed class VipsRuntimeTests
{
    private const string DebianLibvips = "/usr/lib/x86_64-linux-gnu/libvips.so.42";
    private static readonly string Bundled = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libvips.so.42");

    [Fact]
    public void The_bundled_libvips_is_the_one_loaded_even_where_the_system_has_its_own()
    {
        VipsRuntime.EnsureStarted();

        Assert.StartsWith($"{VipsRuntime.ExpectedMajor}.{VipsRuntime.ExpectedMinor}.", VipsRuntime.Version, StringComparison.Ordinal);
        Assert.Equal(Bundled, VipsRuntime.LibraryPath);
        var mapped = VipsRuntime.MappedLibvips(File.ReadAllText("/proc/self/maps"));
        Assert.Equal([Bundled], mapped); // Debian's libvips42, where installed (it is on the dev machines), stays out
        Assert.Equal($"libvips {VipsRuntime.Version} (NetVips.Native) from {Bundled}", VipsRuntime.Describe());
        Assert.Equal(0, NetVips.Cache.Max); // no decoded image outlives its call
    }

    [Fact]
    public void A_system_libvips_in_the_process_is_refused_with_its_path()
    {
        var e = Assert.Throws<InvalidOperationException>(() =>
            VipsRuntime.Verify("8.14.1", ["/usr/lib/x86_64-linux-gnu/libvips.so.42.16.1"], AppContext.BaseDirectory));
        Assert.Contains("libvips 8.14.1 was loaded from /usr/lib/x86_64-linux-gnu/libvips.so.42.16.1, not the bundled copy", e.Message, StringComparison.Ordinal);
        Assert.Contains("LD_PRELOAD", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_system_libvips_beside_the_bundled_one_is_refused_too()
    {
        // e.g. LD_PRELOAD: the bundled copy still loads by path, but the system one's symbols come first.
        var e = Assert.Throws<InvalidOperationException>(() =>
            VipsRuntime.Verify("8.18.7", [Bundled, "/usr/lib/x86_64-linux-gnu/libvips.so.42.16.1"], AppContext.BaseDirectory));
        Assert.Contains("a libvips other than the bundled one is loaded into the process: /usr/lib/x86_64-linux-gnu/libvips.so.42.16.1, beside "
            + Bundled, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Another_libvips_line_than_NetVips_is_built_for_is_refused()
    {
        var e = Assert.Throws<InvalidOperationException>(() => VipsRuntime.Verify("8.17.2", [Bundled], AppContext.BaseDirectory));
        Assert.Contains("8.17.2", e.Message, StringComparison.Ordinal);
        Assert.Contains("8.18.x", e.Message, StringComparison.Ordinal);
        Assert.Equal(Bundled, VipsRuntime.Verify("8.18.7", [Bundled], AppContext.BaseDirectory));
    }

    [Fact]
    public void Maps_lines_are_parsed_for_libvips_files_only()
    {
        var maps = $"""
            7f0000000000-7f0000001000 r--p 00000000 08:01 123 {Bundled}
            7f0000001000-7f0000002000 r-xp 00001000 08:01 123 {Bundled}
            7f0000003000-7f0000004000 r--p 00000000 08:01 456 /usr/lib/x86_64-linux-gnu/libvips-cpp.so.42.16.1
            7f0000005000-7f0000006000 r--p 00000000 08:01 789 /usr/lib/x86_64-linux-gnu/libvips.so.42.16.1 (deleted)
            7f0000007000-7f0000008000 rw-p 00000000 00:00 0 [heap]
            7f0000009000-7f000000a000 rw-p 00000000 00:00 0
            """;
        Assert.Equal([Bundled, "/usr/lib/x86_64-linux-gnu/libvips.so.42.16.1"], VipsRuntime.MappedLibvips(maps));
    }

    [Fact]
    public async Task A_process_with_the_system_libvips_preloaded_refuses_to_start()
    {
        // The real failure, end to end: the test binary again, in a child process with Debian's libvips preloaded,
        // running only the check below; it must fail with the start-up check's message, not crash or pass.
        Assert.SkipUnless(File.Exists(DebianLibvips), $"{DebianLibvips} is absent (no system libvips to preload)");
        var psi = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { typeof(VipsRuntimeTests).Assembly.Location, "-method", $"{typeof(VipsRuntimeTests).FullName}.{nameof(StartUpCheck_InChildProcess)}", "-explicit", "only" })
            psi.ArgumentList.Add(arg);
        psi.Environment["LD_PRELOAD"] = DebianLibvips;
        using var child = System.Diagnostics.Process.Start(psi)!;
        var ct = TestContext.Current.CancellationToken;
        var stderr = child.StandardError.ReadToEndAsync(ct);
        var stdout = await child.StandardOutput.ReadToEndAsync(ct);
        await child.WaitForExitAsync(ct);
        var output = stdout + await stderr;

        Assert.Contains("a libvips other than the bundled one is loaded into the process: /usr/lib/x86_64-linux-gnu/libvips.so.42", output, StringComparison.Ordinal);
        Assert.Contains($"beside {Bundled}", output, StringComparison.Ordinal);
        Assert.NotEqual(0, child.ExitCode);
    }

    /// <summary>Run only by <see cref="A_process_with_the_system_libvips_preloaded_refuses_to_start"/>, in its child.</summary>
    [Fact(Explicit = true)]
    public void StartUpCheck_InChildProcess() => VipsRuntime.EnsureStarted();
}
