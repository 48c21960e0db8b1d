using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Platform.Tests.Servers;

/// <summary>
/// A private PostgreSQL 15 for a test class: initdb into a temp folder, a free loopback port, its unix socket in the
/// same folder, trust authentication for user postgres. When this process is root the server runs as user postgres
/// (PostgreSQL refuses root). Where the binaries are missing the fixture starts nothing and <see cref="Require"/>
/// skips the test, saying why. Needs no package: it drives the server's own command-line tools.
/// </summary>
/// <remarks>
/// Use as <c>IClassFixture&lt;PostgresServer&gt;</c>. <see cref="StopAsync"/> and <see cref="StartAsync"/> take the
/// server down (as a crash: <c>pg_ctl stop -m immediate</c>) and up again on the same port and data, for fault tests;
/// a class that does so should have its own server. fsync is off: a stopped or killed server still keeps every
/// committed transaction (the OS has it), only a machine crash would not.
/// </remarks>
public sealed class PostgresServer : IAsyncLifetime
{
    /// <summary>Where Debian's postgresql-15 puts its binaries; <c>PLATFORM_POSTGRES_BIN</c> overrides it.</summary>
    public static string BinDirectory { get; } =
        Environment.GetEnvironmentVariable("PLATFORM_POSTGRES_BIN") is { Length: > 0 } bin ? bin : "/usr/lib/postgresql/15/bin";

    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);

    private string? _root;
    private string? _skipReason;
    private bool _asPostgresUser;

    public string Host => "127.0.0.1";

    public int Port { get; private set; }

    /// <summary>The database made at start, for tests that need no isolation of their own.</summary>
    public string Database => "platform";

    /// <summary>The connection string of <see cref="Database"/>.</summary>
    public string ConnectionString => ConnectionStringFor(Database);

    /// <summary>Whether the server is up now (it is between a <see cref="StopAsync"/> and a <see cref="StartAsync"/> not).</summary>
    public bool IsRunning { get; private set; }

    /// <summary>Why the server could not be had here (binaries or the postgres user missing), or null when it runs.</summary>
    public string? SkipReason => _skipReason;

    private string DataDirectory => Path.Combine(_root!, "data");

    private string SocketDirectory => Path.Combine(_root!, "socket");

    private string LogFile => Path.Combine(_root!, "server.log");

    /// <summary>Skips the calling test when there is no server here, saying why.</summary>
    public void Require() => Assert.SkipWhen(_skipReason is not null, _skipReason ?? "");

    public string ConnectionStringFor(string database) =>
        $"Host={Host};Port={Port};Database={database};Username=postgres;Pooling=true;Timeout=5";

    public async ValueTask InitializeAsync()
    {
        if (!File.Exists(Path.Combine(BinDirectory, "initdb")) || !File.Exists(Path.Combine(BinDirectory, "pg_ctl")))
        {
            _skipReason = $"PostgreSQL's binaries are not in {BinDirectory} (apt-get install postgresql-15, as .ci/setup does)";
            return;
        }
        _asPostgresUser = Environment.UserName == "root";
        if (_asPostgresUser && !(await TryRunAsync("id", ["-u", "postgres"])))
        {
            _skipReason = "running as root, and there is no user 'postgres' to run PostgreSQL as (it refuses root)";
            return;
        }

        _root = Directory.CreateTempSubdirectory("platform-pg-").FullName;
        Directory.CreateDirectory(SocketDirectory);
        if (_asPostgresUser)
            await RunAsync("chown", ["-R", "postgres:postgres", _root]);
        await RunToolAsync("initdb", ["-D", DataDirectory, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"]);
        Port = FreePort();
        await StartAsync();
        await RunToolAsync("createdb", ["-h", Host, "-p", Port.ToString(), "-U", "postgres", Database]);
    }

    /// <summary>Creates another database (for a test that wants one of its own) and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string name)
    {
        Require();
        await RunToolAsync("createdb", ["-h", Host, "-p", Port.ToString(), "-U", "postgres", name]);
        return ConnectionStringFor(name);
    }

    /// <summary>Starts the server (again), on the same port and data; returns once it accepts connections.</summary>
    public async Task StartAsync()
    {
        Require();
        // listen_addresses limits it to loopback; the socket stays in our folder, not /var/run/postgresql.
        var options = $"-p {Port} -k {SocketDirectory} -c listen_addresses={Host} -c fsync=off -c max_connections=200";
        await RunToolAsync("pg_ctl", ["start", "-D", DataDirectory, "-l", LogFile, "-w", "-t", "60", "-o", options]);
        IsRunning = true;
    }

    /// <summary>Stops the server at once, as a crash would (no checkpoint; it recovers from its WAL at the next start).</summary>
    public async Task StopAsync()
    {
        Require();
        await RunToolAsync("pg_ctl", ["stop", "-D", DataDirectory, "-m", "immediate", "-w", "-t", "60"]);
        IsRunning = false;
    }

    public async ValueTask DisposeAsync()
    {
        if (_root is null)
            return;
        try
        {
            if (IsRunning)
                await RunToolAsync("pg_ctl", ["stop", "-D", DataDirectory, "-m", "immediate", "-w", "-t", "60"]);
        }
        finally
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private Task RunToolAsync(string tool, IReadOnlyList<string> arguments)
    {
        var path = Path.Combine(BinDirectory, tool);
        return _asPostgresUser ? RunAsync("runuser", ["-u", "postgres", "--", path, .. arguments]) : RunAsync(path, arguments);
    }

    private async Task RunAsync(string file, IReadOnlyList<string> arguments)
    {
        var (code, output) = await ExecuteAsync(file, arguments);
        if (code != 0)
        {
            var log = _root is not null && File.Exists(LogFile) ? $"\nserver log:\n{Tail(LogFile)}" : "";
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} exited with {code}:\n{output}{log}");
        }
    }

    private static async Task<bool> TryRunAsync(string file, IReadOnlyList<string> arguments)
    {
        try
        {
            return (await ExecuteAsync(file, arguments)).Code == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false; // no such program
        }
    }

    private static async Task<(int Code, string Output)> ExecuteAsync(string file, IReadOnlyList<string> arguments)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            // runuser keeps the working directory: make it one user postgres may enter.
            WorkingDirectory = "/",
        };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{file} did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(CommandTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', arguments)} did not finish within {CommandTimeout.TotalSeconds:0} s");
        }
        return (process.ExitCode, (await stdout + await stderr).Trim());
    }

    private static string Tail(string path)
    {
        var lines = File.ReadAllLines(path);
        return string.Join('\n', lines.Skip(Math.Max(0, lines.Length - 20)));
    }
}
