using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Platform.Tests.Servers;

/// <summary>
/// A server from a Debian package run as a local process for tests (no Docker engine here): its own temp folder and
/// free port, output kept for failure messages, and stop / start again / kill for fault tests. Subclasses say how to
/// start it and how to tell it is ready.
/// </summary>
public abstract class LocalServer : IAsyncDisposable
{
    private readonly StringBuilder _output = new();
    private Process? _process;

    protected LocalServer(string name)
    {
        Name = name;
        Folder = Directory.CreateTempSubdirectory($"platform-{name}-").FullName;
        Port = FreePort();
    }

    public string Name { get; }

    /// <summary>The server's temp folder (data, logs); deleted on dispose.</summary>
    public string Folder { get; }

    public int Port { get; }

    public bool IsRunning => _process is { HasExited: false };

    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    /// <summary>The command that runs the server in the foreground.</summary>
    protected abstract ProcessStartInfo StartInfo();

    /// <summary>Until the server answers (its port accepts connections by default).</summary>
    protected virtual async Task<bool> IsReadyAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, Port, cancellationToken);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    protected virtual TimeSpan StartTimeout => TimeSpan.FromSeconds(60);

    public async Task StartAsync()
    {
        if (IsRunning)
            return;
        var info = StartInfo();
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.UseShellExecute = false;
        var process = Process.Start(info) ?? throw new InvalidOperationException($"{Name} did not start: {info.FileName}");
        process.OutputDataReceived += (_, e) => { lock (_output) _output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (_output) _output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        using var timeout = new CancellationTokenSource(StartTimeout);
        while (!await ReadyWithinAsync(timeout.Token).ConfigureAwait(false))
        {
            if (process.HasExited)
                throw new InvalidOperationException($"{Name} exited with code {process.ExitCode} while starting:\n{Output}");
            if (timeout.IsCancellationRequested)
                throw new TimeoutException($"{Name} did not answer on port {Port} within {StartTimeout.TotalSeconds} s:\n{Output}");
            await Task.Delay(200, CancellationToken.None);
        }
    }

    /// <summary>A readiness probe cut short by the start timeout is a "not ready", so the timeout reports itself with the server's output.</summary>
    private async Task<bool> ReadyWithinAsync(CancellationToken timeout)
    {
        try
        {
            return await IsReadyAsync(timeout).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>Stops the server the way an operator would (SIGTERM, waiting for it to exit); its data stays.</summary>
    public virtual async Task StopAsync()
    {
        if (_process is not { HasExited: false } process)
            return;
        Signal(process.Id, "TERM");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    /// <summary>Kills the server with SIGKILL, as a crash would.</summary>
    public async Task KillAsync()
    {
        if (_process is not { HasExited: false } process)
            return;
        process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync();
    }

    public async Task RestartAsync()
    {
        await StopAsync();
        await StartAsync();
    }

    public virtual async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process?.Dispose();
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
            // a file still held by a child that is exiting: the temp folder is left behind
        }
        catch (UnauthorizedAccessException)
        {
        }
        GC.SuppressFinalize(this);
    }

    /// <summary>The first of <paramref name="candidates"/> that exists, or null.</summary>
    protected static string? Find(params string[] candidates) => candidates.FirstOrDefault(File.Exists);

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    protected static void Signal(int pid, string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", $"-{signal} {pid}") { UseShellExecute = false });
        kill?.WaitForExit();
    }
}
