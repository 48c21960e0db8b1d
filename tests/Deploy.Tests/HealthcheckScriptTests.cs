using System.Net;
using System.Net.Sockets;
using System.Text;
using Platform.Deploy.Tests.Support;
using Platform.Tests;

namespace Platform.Deploy.Tests;

/// <summary>deploy/healthcheck.sh, the images' HEALTHCHECK, run with bash against a local HTTP responder.</summary>
public sealed class HealthcheckScriptTests
{
    private static readonly string Script = RepoPaths.InRepo("deploy", "healthcheck.sh");

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 7\r\n\r\nHealthy")]
    [InlineData("HTTP/1.0 200\r\n\r\n")]
    public async Task Healthy_when_the_endpoint_answers_200(string response)
    {
        var (exit, request) = await CheckAgainst(response);
        Assert.Equal(0, exit);
        Assert.StartsWith("GET /health/live HTTP/1.0\r\n", request);
    }

    [Theory]
    [InlineData("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")]
    [InlineData("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")]
    [InlineData("HTTP/1.1 2000 Odd\r\n\r\n")]
    [InlineData("HTTP/1.1 503 200 OK\r\n\r\n")]
    [InlineData("200 OK\r\n\r\n")]
    [InlineData("")]
    public async Task Unhealthy_on_anything_but_200(string response)
    {
        var (exit, _) = await CheckAgainst(response);
        Assert.NotEqual(0, exit);
    }

    [Fact]
    public void Unhealthy_when_nothing_listens()
    {
        var bash = Tools.RequireBash();
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var result = Tools.Run(bash, [Script, port.ToString(), "/health/live"], timeout: TimeSpan.FromSeconds(30));
        Assert.NotEqual(0, result.ExitCode);
    }

    [Fact]
    public void Script_is_executable_so_the_image_can_run_it()
    {
        // COPY keeps the file's mode; the HEALTHCHECK runs it by name.
        Assert.SkipWhen(OperatingSystem.IsWindows(), "file modes are a Unix matter");
        if (!OperatingSystem.IsWindows())
            Assert.True(File.GetUnixFileMode(Script).HasFlag(UnixFileMode.OtherExecute), $"{Script} is not executable");
        Assert.StartsWith("#!/usr/bin/env bash", File.ReadLines(Script).First());
    }

    /// <summary>Serves one connection with <paramref name="response"/>; returns the script's exit code and the request it sent.</summary>
    private static async Task<(int Exit, string Request)> CheckAgainst(string response)
    {
        var bash = Tools.RequireBash();
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            var serve = Task.Run(async () =>
            {
                using var client = await listener.AcceptTcpClientAsync();
                var stream = client.GetStream();
                var request = new StringBuilder();
                var buffer = new byte[1024];
                while (!request.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
                {
                    var read = await stream.ReadAsync(buffer);
                    if (read == 0)
                        break;
                    request.Append(Encoding.ASCII.GetString(buffer, 0, read));
                }
                await stream.WriteAsync(Encoding.ASCII.GetBytes(response));
                return request.ToString();
            });
            var result = await Task.Run(() => Tools.Run(bash, [Script, port.ToString(), "/health/live"], timeout: TimeSpan.FromSeconds(30)));
            var sent = await serve.WaitAsync(TimeSpan.FromSeconds(10));
            return (result.ExitCode, sent);
        }
        finally
        {
            listener.Stop();
        }
    }
}
