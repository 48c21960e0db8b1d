using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Platform.Catalog.Behaviour;

namespace Platform.Catalog;

public static class CatalogRegistration
{
    /// <summary>The configuration section: <c>Provider</c>, <c>ConnectionString</c>, <c>StartupWaitSeconds</c>.</summary>
    public const string Section = "Catalog";

    /// <summary>The name of the catalog's health check.</summary>
    public const string HealthCheckName = "catalog";

    /// <summary>The tag of the checks that decide readiness; the same string as ServiceDefaults' ReadyTag (a test holds them equal).</summary>
    public const string ReadyTag = "ready";

    /// <summary>The accepted values of <c>Catalog:Provider</c>.</summary>
    public static IReadOnlyList<string> Providers { get; } = ["sqlite", "postgres"];

    /// <summary>
    /// The catalog this process uses, and the interaction log beside it (<see cref="IInteractionLog"/>: in
    /// <c>&lt;dataDirectory&gt;/interactions.db</c>, or in the PostgreSQL database with the catalog), chosen by <c>Catalog:Provider</c>: <c>sqlite</c> (the default,
    /// <c>&lt;dataDirectory&gt;/catalog.db</c>) or <c>postgres</c> (<c>Catalog:ConnectionString</c>, and optionally
    /// <c>Catalog:StartupWaitSeconds</c>, how long start waits for the server: 30 by default). Also the health check
    /// "catalog" (tagged ready), which pings the store. Every service of a process shares one catalog: the first
    /// registration wins.
    /// </summary>
    /// <exception cref="InvalidOperationException">The configuration names an unknown provider, or lacks or mangles a setting it needs.</exception>
    public static IServiceCollection AddProductCatalog(this IServiceCollection services, IConfiguration configuration, string dataDirectory)
    {
        if (services.Any(d => d.ServiceType == typeof(CatalogRegistered)))
            return services;
        services.AddSingleton<CatalogRegistered>();

        var section = configuration.GetSection(Section);
        var provider = section["Provider"]?.Trim();
        switch (string.IsNullOrEmpty(provider) ? "sqlite" : provider.ToLowerInvariant())
        {
            case "sqlite":
                services.TryAddSingleton<IProductCatalog>(sp =>
                    new SqliteProductCatalog(Path.Combine(dataDirectory, "catalog.db"), sp.GetService<TimeProvider>()));
                services.TryAddSingleton<IInteractionLog>(_ => new SqliteInteractionLog(Path.Combine(dataDirectory, "interactions.db")));
                break;
            case "postgres":
                var options = PostgresOptionsFrom(section);
                services.TryAddSingleton<IProductCatalog>(sp =>
                    new PostgresProductCatalog(options, sp.GetService<TimeProvider>(), sp.GetService<ILogger<PostgresProductCatalog>>()));
                services.TryAddSingleton<IInteractionLog>(sp => new PostgresInteractionLog((PostgresProductCatalog)sp.GetRequiredService<IProductCatalog>()));
                services.AddHostedService<CatalogStartup>();
                break;
            default:
                throw new InvalidOperationException(
                    $"{Section}:Provider is '{provider}', which is not a catalog provider; accepted values: {string.Join(", ", Providers)}");
        }
        services.AddHealthChecks().AddCheck<CatalogHealthCheck>(HealthCheckName, tags: [ReadyTag]);
        return services;
    }

    private static PostgresCatalogOptions PostgresOptionsFrom(IConfigurationSection section)
    {
        var connectionString = section["ConnectionString"];
        if (string.IsNullOrWhiteSpace(connectionString))
            throw new InvalidOperationException(
                $"{Section}:Provider is 'postgres' but {Section}:ConnectionString is not set: give the PostgreSQL connection string (Host=...;Port=...;Database=...;Username=...;Password=...)");
        try
        {
            _ = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (Exception e) when (e is ArgumentException or FormatException)
        {
            // The message names the key, never the value: it may hold a password.
            throw new InvalidOperationException($"{Section}:ConnectionString is not a valid PostgreSQL connection string: {e.Message}", e);
        }

        var options = new PostgresCatalogOptions { ConnectionString = connectionString };
        if (section["StartupWaitSeconds"] is { } text)
        {
            if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) || seconds < 0 || double.IsInfinity(seconds))
                throw new InvalidOperationException($"{Section}:StartupWaitSeconds is '{text}'; it must be a number of seconds, 0 or more");
            options = options with { StartupWait = TimeSpan.FromSeconds(seconds) };
        }
        return options;
    }

    /// <summary>Marks the catalog registered, so later calls (other services of the same process) add nothing twice.</summary>
    private sealed class CatalogRegistered;
}

/// <summary>Ready while the catalog's store answers: with PostgreSQL down, the process is up but cannot take ingests.</summary>
internal sealed class CatalogHealthCheck(IProductCatalog catalog) : IHealthCheck
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(5);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(Bound);
        try
        {
            await catalog.PingAsync(bounded.Token);
            return HealthCheckResult.Healthy("the catalog answers");
        }
        catch (CatalogUnavailableException e)
        {
            return HealthCheckResult.Unhealthy(e.Message, e);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy($"the catalog did not answer within {Bound.TotalSeconds:0} s");
        }
    }
}

/// <summary>
/// Makes the PostgreSQL schema at start, waiting a bounded time for the server: a server that stays down stops the
/// start with a message naming it, rather than failing the first requests.
/// </summary>
internal sealed class CatalogStartup(IProductCatalog catalog) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) =>
        catalog is PostgresProductCatalog postgres ? postgres.InitializeAsync(cancellationToken) : Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
