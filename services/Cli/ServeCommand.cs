using System.CommandLine;
using Microsoft.AspNetCore.Builder;
using Platform.Cli.Hosting;
using Platform.Gateway;
using Platform.ServiceDefaults.Cluster;
using Platform.Inference.Onnx;

namespace Platform.Cli;

/// <summary><c>platform serve</c>: every service in one process, with the embedded defaults.</summary>
public static class ServeCommand
{
    public const string DefaultUrls = "http://127.0.0.1:8080";

    public static Command Create()
    {
        var urls = new Option<string>("--urls") { Description = "Addresses to listen on (semicolon-separated)", DefaultValueFactory = _ => DefaultUrls };
        var data = new Option<DirectoryInfo>("--data") { Description = "Data directory (catalog database, vector store)", DefaultValueFactory = _ => new DirectoryInfo(".data") };
        var model = new Option<DirectoryInfo?>("--model") { Description = $"Model package folder (default: ${ModelLocator.EnvironmentVariable} or the bundled {ModelLocator.BundledName})" };
        var device = new Option<string>("--device") { Description = "Inference device: cpu, cuda:0, ...", DefaultValueFactory = _ => "cpu" };
        var threads = new Option<int>("--threads") { Description = $"ONNX Runtime intra-op threads per forward (0: its default; default {InferenceOptions.Default.IntraOpThreads}, best with concurrent requests)", DefaultValueFactory = _ => InferenceOptions.Default.IntraOpThreads };
        var catalog = new Option<FileInfo?>("--catalog") { Description = "A catalog file (JSON lines) to ingest once the server is up (instead of the demo catalog)" };
        var noDemo = new Option<bool>("--no-demo") { Description = "Do not load the bundled demo catalog into an empty data directory" };
        var maxBody = new Option<int>("--max-body-mb") { Description = "Largest request body accepted, in MiB", DefaultValueFactory = _ => 16 };
        var dashboard = new Option<bool>("--dashboard") { Description = "Serve the Orleans dashboard under /dashboard (it has no authentication of its own)" };
        var role = new Option<string>("--role")
        {
            Description = "Which service this process runs: all (every service in one process), gateway, encoder, retrieval or indexer; " +
                "the distributed providers come from configuration (Orleans, Bus, Catalog, VectorStore sections; environment variables like Orleans__Membership=redis)",
            DefaultValueFactory = _ => Roles.All,
        };
        role.AcceptOnlyFromAmong(Roles.Names);

        var command = new Command("serve", "Run the platform: every service in one process (embedded defaults), or one service of a distributed deployment (--role)")
            { urls, data, model, device, threads, catalog, noDemo, maxBody, dashboard, role };
        command.SetAction(async (result, ct) =>
        {
            if (result.GetValue(catalog) is { Exists: false } missing)
            {
                Console.Error.WriteLine($"catalog file {missing.FullName} does not exist");
                return 2;
            }
            if (result.GetValue(threads) < 0)
            {
                Console.Error.WriteLine("--threads must be 0 (ONNX Runtime's default) or more");
                return 2;
            }
            if (result.GetValue(maxBody) < 1)
            {
                Console.Error.WriteLine("--max-body-mb must be at least 1");
                return 2;
            }
            var chosen = result.GetValue(role)!;
            if (chosen != Roles.All)
            {
                return await Roles.RunAsync(chosen, new Dictionary<string, string?>
                {
                    ["Platform:Data"] = result.GetValue(data)!.FullName,
                    ["Platform:Model"] = result.GetValue(model)?.FullName ?? ModelLocator.Default(),
                    ["Platform:Devices"] = result.GetValue(device),
                    ["Encoder:IntraOpThreads"] = result.GetValue(threads).ToString(System.Globalization.CultureInfo.InvariantCulture),
                    ["Gateway:MaxBodyMb"] = result.GetValue(maxBody).ToString(System.Globalization.CultureInfo.InvariantCulture),
                    ["Gateway:CatalogFile"] = result.GetValue(catalog)?.FullName,
                    ["Orleans:Dashboard"] = result.GetValue(dashboard) ? "true" : null,
                }, result.GetValue(urls)!, ct);
            }

            WebApplication app;
            try
            {
                var options = new PlatformOptions
                {
                    DataDirectory = result.GetValue(data)!.FullName,
                    ModelDirectory = result.GetValue(model)?.FullName ?? ModelLocator.Default(),
                    Device = result.GetValue(device)!,
                    Inference = InferenceOptions.Default with { IntraOpThreads = result.GetValue(threads) },
                    CatalogToLoad = result.GetValue(catalog)?.FullName ?? (result.GetValue(noDemo) ? null : DemoCatalogLocator.Default()),
                    CatalogOnlyWhenEmpty = result.GetValue(catalog) is null,
                    MaxBodyBytes = result.GetValue(maxBody) * 1024L * 1024L,
                };
                var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
                builder.WebHost.UseUrls(result.GetValue(urls)!);
                if (result.GetValue(dashboard))
                    builder.Configuration["Orleans:Dashboard"] = "true";
                builder.AddOneProcessPlatform(options);
                app = builder.Build();
            }
            catch (Exception e) when (e is Platform.Inference.ModelPackageException or InferenceDeviceException or DirectoryNotFoundException)
            {
                // A configuration mistake: say what is wrong, without a stack trace.
                Console.Error.WriteLine($"platform serve: {e.Message}");
                return 2;
            }
            await using var _ = app;
            app.MapGateway();
            app.MapPlatformDashboard();
            await app.RunAsync(ct);
            return 0;
        });
        return command;
    }
}
