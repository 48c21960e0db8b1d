using Microsoft.AspNetCore.Builder;
using Orleans.Dashboard;

namespace Platform.ServiceDefaults.Cluster;

public static class DashboardExtensions
{
    /// <summary>The Orleans dashboard under <c>/dashboard</c>, when <c>Orleans:Dashboard</c> turned it on.</summary>
    public static WebApplication MapPlatformDashboard(this WebApplication app)
    {
        if (SiloSettings.From(app.Configuration).Dashboard)
            app.MapOrleansDashboard("/dashboard");
        return app;
    }
}
