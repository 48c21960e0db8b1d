using System.Collections.Concurrent;
using System.CommandLine;
using Platform.Catalog;
using Spectre.Console;

namespace Platform.Cli;

/// <summary><c>platform ingest FILE.jsonl</c>: sends a catalog to a running server, with progress and a summary.</summary>
public static class IngestCommand
{
    public static Option<Uri> ServerOption() => new("--server")
    {
        Description = "The platform's address",
        DefaultValueFactory = _ => new Uri(ServeCommand.DefaultUrls),
        CustomParser = result =>
        {
            var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : ServeCommand.DefaultUrls;
            if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https")
                return uri;
            result.AddError($"--server must be an http:// or https:// address, got '{text}'");
            return null;
        },
    };

    public static Command Create()
    {
        var file = new Argument<FileInfo>("file") { Description = "Catalog: one JSON product per line, with \"image\" a path relative to the file" };
        var server = ServerOption();
        var wait = new Option<bool>("--wait") { Description = "Wait until every accepted product is indexed (or failed)" };
        var parallel = new Option<int>("--parallel") { Description = "Requests in flight at once", DefaultValueFactory = _ => 4 };
        var command = new Command("ingest", "Ingest a catalog file into a running platform") { file, server, wait, parallel };
        command.SetAction(async (result, ct) =>
        {
            var path = result.GetValue(file)!;
            if (!path.Exists)
            {
                AnsiConsole.MarkupLineInterpolated($"[red]{path.FullName} does not exist[/]");
                return 2;
            }
            var lines = CatalogFile.Read(path.FullName).ToList();
            var failures = new ConcurrentBag<(int Line, string Id, string Reason)>();
            var accepted = new ConcurrentBag<string>();
            using var client = new PlatformClient(result.GetValue(server)!);

            await AnsiConsole.Progress().AutoClear(false).Columns(
                    new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .StartAsync(async progress =>
                {
                    var sending = progress.AddTask("sending", maxValue: lines.Count);
                    await Parallel.ForEachAsync(lines, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, result.GetValue(parallel)), CancellationToken = ct },
                        async (line, token) =>
                        {
                            try
                            {
                                var problem = line.Error ?? (File.Exists(line.ImagePath)
                                    ? await client.IngestAsync(line.Product!, line.ImagePath!, token)
                                    : $"image {line.ImagePath} does not exist");
                                if (problem is null)
                                    accepted.Add(line.Product!.Id);
                                else
                                    failures.Add((line.LineNumber, line.Product?.Id ?? "?", problem));
                            }
                            catch (HttpRequestException e)
                            {
                                failures.Add((line.LineNumber, line.Product?.Id ?? "?", $"cannot reach the server: {e.Message}"));
                            }
                            sending.Increment(1);
                        });

                    if (result.GetValue(wait))
                    {
                        var indexing = progress.AddTask("indexing", maxValue: accepted.Count);
                        var waiting = new HashSet<string>(accepted);
                        while (waiting.Count > 0 && !ct.IsCancellationRequested)
                        {
                            foreach (var id in waiting.ToList())
                            {
                                var status = await client.StatusAsync(id, ct);
                                if (status is "indexed" or "failed")
                                {
                                    waiting.Remove(id);
                                    indexing.Increment(1);
                                    if (status == "failed")
                                        failures.Add((0, id, "failed while indexing: see GET /v1/products/" + id));
                                }
                            }
                            if (waiting.Count > 0)
                                await Task.Delay(200, ct);
                        }
                    }
                });

            AnsiConsole.MarkupLineInterpolated($"{accepted.Count} accepted, {failures.Count} failed, of {lines.Count} lines in {path.Name}");
            if (!failures.IsEmpty)
            {
                var table = new Table().AddColumns("line", "id", "reason");
                foreach (var (line, id, reason) in failures.OrderBy(f => f.Line))
                    table.AddRow(line == 0 ? "-" : line.ToString(), Markup.Escape(id), Markup.Escape(reason));
                AnsiConsole.Write(table);
            }
            return failures.IsEmpty ? 0 : 1;
        });
        return command;
    }
}
