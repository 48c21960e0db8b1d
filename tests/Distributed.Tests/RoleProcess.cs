using System.Diagnostics;
using System.Text;
using Platform.Tests;

namespace Platform.Distributed.Tests;

/// <summary>
/// One service of the cluster as its own <c>platform serve --role R</c> process, configured through environment
/// variables as a deployment would be. It can be killed (SIGKILL) and started again with the same settings and ports.
/// Like a deployment's supervisor (Kubernetes, compose's restart policy), it starts the process again when it exits by
/// itself (the platform stops a process whose bus stopped consuming, to be started fresh). Its output is kept for
/// failure messages.
/// </summary>
public sealed class RoleProcess : IAsyncDisposable
{
    private readonly StringBuilder _output = new();
    private readonly IReadOnlyDictionary<string, string> _environment;
    private Process? _process;
    private Process? _killed;
    private bool _disposed;

    public RoleProcess(string name, string role, IReadOnlyDictionary<string, string> environment)
    {
        Name = name;
        Role = role;
        _environment = environment;
        HttpPort = Platform.Tests.Servers.LocalServer.FreePort();
        DataDirectory = Directory.CreateTempSubdirectory($"platform-{name}-").FullName;
        Address = new Uri($"http://127.0.0.1:{HttpPort}");
    }

    public string Name { get; }

    public string Role { get; }

    public int HttpPort { get; }

    public Uri Address { get; }

    public string DataDirectory { get; }

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Exits that the process chose itself, each followed by a start, as its supervisor would.</summary>
    public int SupervisorRestarts { get; private set; }

    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    /// <summary>The built CLI next to this test binary's configuration (Release in CI).</summary>
    public static string CliPath
    {
        get
        {
            var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
            var path = RepoPaths.InRepo("services", "Cli", "bin", configuration, "net10.0", "platform.dll");
            return File.Exists(path) ? path : throw new FileNotFoundException($"build the CLI first: {path} is missing");
        }
    }

    public void Start()
    {
        if (IsRunning)
            return;
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { CliPath, "serve", "--role", Role, "--data", DataDirectory, "--urls", Address.ToString().TrimEnd('/') })
            start.ArgumentList.Add(arg);
        foreach (var (key, value) in _environment)
            start.Environment[key] = value;
        start.Environment["OTEL_SERVICE_NAME"] = Name;
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        start.Environment["Logging__LogLevel__Platform"] = "Information";
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        process.Exited += (_, _) => OnExited(process);
        if (!process.Start())
            throw new InvalidOperationException($"{Name} did not start");
        _process = process;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        lock (_output)
            _output.AppendLine($"---- started {DateTime.UtcNow:HH:mm:ss.fff} pid {process.Id}");
    }

    /// <summary>Until <c>/health/ready</c> answers 200 (the process failing meanwhile fails the wait).</summary>
    public async Task WaitReadyAsync(TimeSpan timeout)
    {
        using var http = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process is { HasExited: true } exited)
                throw new InvalidOperationException($"{Name} exited with code {exited.ExitCode} while starting:\n{Output}");
            try
            {
                using var response = await http.GetAsync("/health/ready");
                if (response.IsSuccessStatusCode)
                    return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // not listening yet
            }
            await Task.Delay(250);
        }
        throw new TimeoutException($"{Name} was not ready within {timeout.TotalSeconds} s:\n{Output}");
    }

    /// <summary>SIGKILL: no shutdown, nothing flushed, as a crash or an OOM kill.</summary>
    public async Task KillAsync()
    {
        if (_process is not { HasExited: false } process)
            return;
        _killed = process;
        process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync();
        lock (_output)
            _output.AppendLine($"---- killed {DateTime.UtcNow:HH:mm:ss.fff}");
    }

    public async ValueTask DisposeAsync()
    {
        _disposed = true;
        await KillAsync();
        _process?.Dispose();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private void OnExited(Process process)
    {
        // Only the exit the platform asks to be started again after (BusRecovery.StuckExitCode); any other exit is a
        // crash, left for the test to report.
        if (_disposed || ReferenceEquals(process, _killed) || !ReferenceEquals(process, _process) || process.ExitCode != Platform.ServiceDefaults.BusRecovery.StuckExitCode)
            return;
        lock (_output)
            _output.AppendLine($"---- exited by itself with code {process.ExitCode} at {DateTime.UtcNow:HH:mm:ss.fff}; started again, as its supervisor would");
        SupervisorRestarts++;
        Start();
    }

    private void Append(string? line)
    {
        if (line is null)
            return;
        lock (_output)
        {
            // Keep the tail only: a long run logs a lot, and a failure needs the end.
            if (_output.Length > 400_000)
                _output.Remove(0, 200_000);
            _output.AppendLine(line);
        }
    }
}
