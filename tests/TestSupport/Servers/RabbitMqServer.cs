using System.Diagnostics;

namespace Platform.Tests.Servers;

/// <summary>
/// A private RabbitMQ broker (Debian's rabbitmq-server) on free loopback ports: its own node name, Erlang port mapper
/// port, database and logs in the temp folder, run directly (the /usr/sbin wrapper switches user and logs to
/// /var/log). Restarting it keeps its durable queues and persistent messages.
/// </summary>
public sealed class RabbitMqServer : LocalServer
{
    public const string Binary = "/usr/lib/rabbitmq/bin/rabbitmq-server";

    private readonly int _epmdPort = FreePort();
    private readonly int _distPort = FreePort();
    private readonly string _node;

    public RabbitMqServer() : base("rabbitmq") => _node = $"platform{Port}@localhost";

    public static string? Missing => File.Exists(Binary) ? null : $"{Binary} is missing (apt-get install rabbitmq-server)";

    /// <summary>The AMQP address with the default user, which RabbitMQ admits from loopback only.</summary>
    public Uri Uri => new($"amqp://guest:guest@127.0.0.1:{Port}/");

    protected override TimeSpan StartTimeout => TimeSpan.FromSeconds(90);

    protected override ProcessStartInfo StartInfo()
    {
        var info = new ProcessStartInfo(Binary);
        Environment(info);
        return info;
    }

    /// <summary>Messages in a queue, by <c>rabbitmqctl list_queues</c> (name → ready + unacknowledged).</summary>
    public async Task<IReadOnlyDictionary<string, long>> QueueDepthsAsync()
    {
        var info = new ProcessStartInfo("/usr/lib/rabbitmq/bin/rabbitmqctl", ["-n", _node, "list_queues", "-q", "--no-table-headers", "name", "messages"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        Environment(info);
        using var ctl = Process.Start(info)!;
        var text = await ctl.StandardOutput.ReadToEndAsync();
        await ctl.WaitForExitAsync();
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split('\t', StringSplitOptions.TrimEntries))
            .Where(parts => parts.Length == 2 && long.TryParse(parts[1], out _))
            .ToDictionary(parts => parts[0], parts => long.Parse(parts[1]), StringComparer.Ordinal);
    }

    public override async ValueTask DisposeAsync()
    {
        await KillAsync();
        // epmd outlives the broker: stop the one this broker started on its own port.
        var info = new ProcessStartInfo("epmd", ["-kill"]) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        Environment(info);
        try
        {
            using var epmd = Process.Start(info);
            if (epmd is not null)
                await epmd.WaitForExitAsync();
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // no epmd on PATH: nothing was started
        }
        await base.DisposeAsync();
    }

    private void Environment(ProcessStartInfo info)
    {
        var env = info.Environment;
        env["HOME"] = Folder;
        env["RABBITMQ_NODENAME"] = _node;
        env["RABBITMQ_NODE_IP_ADDRESS"] = "127.0.0.1";
        env["RABBITMQ_NODE_PORT"] = Port.ToString();
        env["RABBITMQ_DIST_PORT"] = _distPort.ToString();
        env["RABBITMQ_MNESIA_BASE"] = Path.Combine(Folder, "mnesia");
        env["RABBITMQ_LOG_BASE"] = Path.Combine(Folder, "log");
        env["RABBITMQ_ENABLED_PLUGINS_FILE"] = Path.Combine(Folder, "enabled_plugins");
        env["RABBITMQ_CONFIG_FILE"] = Path.Combine(Folder, "rabbitmq");
        env["ERL_EPMD_ADDRESS"] = "127.0.0.1";
        env["ERL_EPMD_PORT"] = _epmdPort.ToString();
    }
}
