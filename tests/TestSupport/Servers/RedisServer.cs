using System.Diagnostics;

namespace Platform.Tests.Servers;

/// <summary>A private redis-server (Debian's redis-server package) on a free loopback port, append-only file on.</summary>
public sealed class RedisServer() : LocalServer("redis")
{
    public const string Binary = "/usr/bin/redis-server";

    /// <summary>Why Redis tests cannot run here, or null when they can.</summary>
    public static string? Missing => File.Exists(Binary) ? null : $"{Binary} is missing (apt-get install redis-server)";

    /// <summary>StackExchange.Redis connection string.</summary>
    public string ConnectionString => $"127.0.0.1:{Port}";

    protected override ProcessStartInfo StartInfo() => new(Binary,
        ["--port", Port.ToString(), "--bind", "127.0.0.1", "--dir", Folder, "--appendonly", "yes", "--save", "", "--daemonize", "no", "--protected-mode", "no"]);
}
