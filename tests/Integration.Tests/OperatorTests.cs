using System.Net;

namespace Platform.Integration.Tests;

/// <summary>What an operator sees: the Orleans dashboard only when asked for, and readiness that names the device.</summary>
public sealed class OperatorTests
{
    [Fact]
    public async Task The_dashboard_is_served_under_its_path_only_when_enabled()
    {
        var data = Directory.CreateTempSubdirectory("platform-dashboard-").FullName;
        try
        {
            await using (var plain = await PlatformProcess.StartAsync(data))
                Assert.Equal(HttpStatusCode.NotFound, (await plain.Client.GetAsync("/dashboard/")).StatusCode);

            await using var withDashboard = await PlatformProcess.StartAsync(data, "--dashboard");
            using var page = await withDashboard.Client.GetAsync("/dashboard/");
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            Assert.Contains("Orleans Dashboard", await page.Content.ReadAsStringAsync());
            var ready = await withDashboard.Client.GetStringAsync("/health/ready");
            Assert.Contains("loaded on cpu", ready);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }
}
