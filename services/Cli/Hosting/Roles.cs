using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Platform.Encoder;
using Platform.Gateway;
using Platform.Indexer;
using Platform.Retrieval;

namespace Platform.Cli.Hosting;

/// <summary>
/// <c>platform serve --role R</c>: one service of a distributed deployment, composed exactly as that service's own
/// Program.cs composes it (each service owns its role's composition; this only picks one).
/// </summary>
public static class Roles
{
    public const string All = "all";
    public const string Gateway = "gateway";
    public const string Encoder = "encoder";
    public const string Retrieval = "retrieval";
    public const string Indexer = "indexer";

    public static readonly string[] Names = [All, Gateway, Encoder, Retrieval, Indexer];

    /// <summary>Runs <paramref name="role"/> until stopped. The command line's settings come first; configuration
    /// files and environment variables (<c>Orleans__Membership</c>, <c>Bus__Transport</c>, ...) may override them.</summary>
    public static async Task<int> RunAsync(string role, IReadOnlyDictionary<string, string?> commandLine, string urls, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        // Lowest precedence first: the command line's values only fill what configuration does not already say.
        var given = commandLine.Where(kv => kv.Value is not null && builder.Configuration[kv.Key] is null).ToDictionary();
        builder.Configuration.AddInMemoryCollection(given);
        builder.WebHost.UseUrls(urls);

        WebApplication app;
        try
        {
            switch (role)
            {
                case Gateway: builder.AddGatewayRole(); break;
                case Encoder: builder.AddEncoderRole(); break;
                case Retrieval: builder.AddRetrievalRole(); break;
                case Indexer: builder.AddIndexerRole(); break;
                default: throw new ArgumentException($"unknown role '{role}'; one of {string.Join(", ", Names)}", nameof(role));
            }
            app = builder.Build();
        }
        catch (Exception e) when (e is InvalidOperationException or Inference.ModelPackageException or Inference.Onnx.InferenceDeviceException or DirectoryNotFoundException)
        {
            // A configuration mistake: say what is wrong, without a stack trace.
            Console.Error.WriteLine($"platform serve --role {role}: {e.Message}");
            return 2;
        }

        await using var _ = app;
        switch (role)
        {
            case Gateway: app.MapGateway(); break;
            case Encoder: app.MapEncoderRole(); break;
            case Retrieval: app.MapRetrievalRole(); break;
            case Indexer: app.MapIndexerRole(); break;
        }
        await app.RunAsync(cancellationToken);
        // Non-zero when the process stopped itself to be started fresh (BusRecovery's exit code 75).
        return Environment.ExitCode;
    }
}
