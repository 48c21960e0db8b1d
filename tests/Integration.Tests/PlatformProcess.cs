using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Platform.Tests;

namespace Platform.Integration.Tests;

/// <summary>
/// A real <c>platform serve</c> process on a free loopback port, over a data directory it may share with a later
/// process (for restart and crash tests). Its output is kept for failure messages.
/// </summary>
public sealed class PlatformProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private PlatformProcess(Process process, Uri address, string dataDirectory)
    {
        _process = process;
        Address = address;
        DataDirectory = dataDirectory;
        Client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(60) };
        process.OutputDataReceived += (_, e) => { lock (_output) _output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (_output) _output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public Uri Address { get; }

    public string DataDirectory { get; }

    public HttpClient Client { get; }

    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    /// <summary>The built CLI: services/Cli/bin/CONFIG/net10.0/platform.dll, CONFIG as this test binary's.</summary>
    public static string CliPath
    {
        get
        {
            var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name; // .../bin/Debug/net10.0/
            var path = RepoPaths.InRepo("services", "Cli", "bin", configuration, "net10.0", "platform.dll");
            return File.Exists(path) ? path : throw new FileNotFoundException($"build the CLI first: {path} is missing");
        }
    }

    public static async Task<PlatformProcess> StartAsync(string dataDirectory, params string[] extraArgs)
    {
        var address = new Uri($"http://127.0.0.1:{FreePort()}");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in (string[])[CliPath, "serve", "--urls", address.ToString().TrimEnd('/'), "--data", dataDirectory, "--no-demo", .. extraArgs])
            start.ArgumentList.Add(arg);
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        start.Environment["Logging__LogLevel__Platform"] = "Information";
        var server = new PlatformProcess(Process.Start(start)!, address, dataDirectory);
        await server.WaitUntilReadyAsync(TimeSpan.FromSeconds(120));
        return server;
    }

    /// <summary>Kills the process at once (SIGKILL): no shutdown hooks run, nothing is flushed.</summary>
    public async Task KillHardAsync()
    {
        if (!_process.HasExited)
            _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await KillHardAsync();
        _process.Dispose();
    }

    private async Task WaitUntilReadyAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"platform serve exited with {_process.ExitCode}:\n{Output}");
            try
            {
                using var response = await Client.GetAsync("/health/ready");
                if (response.StatusCode == HttpStatusCode.OK)
                    return;
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }
            await Task.Delay(200);
        }
        throw new TimeoutException($"platform serve was not ready within {timeout}:\n{Output}");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
