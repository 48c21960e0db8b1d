using System.CommandLine;
using System.Text.Json;
using Spectre.Console;

namespace Platform.Cli;

/// <summary><c>platform search "words"</c> (or <c>--image FILE</c>) against a running server.</summary>
public static class SearchCommand
{
    public static Command Create()
    {
        var query = new Argument<string?>("query") { Description = "Words to search for", Arity = ArgumentArity.ZeroOrOne };
        var image = new Option<FileInfo?>("--image") { Description = "Search by this photo instead of words" };
        var k = new Option<int>("--k") { Description = "How many results", DefaultValueFactory = _ => 10 };
        var json = new Option<bool>("--json") { Description = "Print the raw JSON results" };
        var server = IngestCommand.ServerOption();
        var command = new Command("search", "Search a running platform by words or by a photo") { query, image, k, json, server };
        command.SetAction(async (result, ct) =>
        {
            using var client = new PlatformClient(result.GetValue(server)!);
            JsonElement results;
            try
            {
                results = result.GetValue(image) is { } file
                    ? await client.SearchImageAsync(file.FullName, result.GetValue(k), ct)
                    : await client.SearchTextAsync(result.GetValue(query) ?? "", result.GetValue(k), ct);
            }
            catch (Exception e) when (e is InvalidOperationException or HttpRequestException or IOException)
            {
                Console.Error.WriteLine(e.Message);
                return 1;
            }
            if (result.GetValue(json))
            {
                Console.WriteLine(results.GetRawText());
                return 0;
            }
            var table = new Table().AddColumns("#", "id", "score", "title");
            var rank = 0;
            foreach (var hit in results.EnumerateArray())
                table.AddRow((++rank).ToString(), Markup.Escape(hit.GetProperty("id").GetString()!),
                    hit.GetProperty("score").GetDouble().ToString("F4"), Markup.Escape(hit.GetProperty("title").GetString()!));
            AnsiConsole.Write(table);
            return 0;
        });
        return command;
    }
}
