using System.CommandLine;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Platform.Catalog;

namespace Platform.Cli;

/// <summary>
/// <c>platform bench http</c>: latency of the search and recommendation endpoints of a running platform, from this
/// process, at a fixed request rate (open loop: each request is due at its time whether or not earlier ones have
/// answered, and its latency counts from when it was due, so a stall shows in the percentiles rather than slowing
/// the load). Before measuring it records behaviour for simulated shoppers, so the shopper and session endpoints
/// have something to go on.
/// </summary>
public static class HttpBench
{
    public static readonly string[] Scenarios = ["search", "similar", "recommend", "shopper", "session"];
    private static readonly string[] Modifiers = ["red", "blue", "green", "small", "for kids", "wooden", "黄色", "gold", "a pair", "striped"];

    public static Command Create()
    {
        var server = new Option<Uri>("--server")
        {
            Description = "The platform's address",
            Required = true,
            CustomParser = r =>
            {
                var text = r.Tokens.Count > 0 ? r.Tokens[0].Value : "";
                if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https")
                    return uri;
                r.AddError($"--server must be an http:// or https:// address, got '{text}'");
                return null!;
            },
        };
        var catalog = new Option<FileInfo?>("--catalog") { Description = "The catalog the server holds (ids, categories, images); default: the demo catalog" };
        var rate = new Option<double>("--rate") { Description = "Requests per second", DefaultValueFactory = _ => 20 };
        var seconds = new Option<double>("--seconds") { Description = "Measuring time per scenario", DefaultValueFactory = _ => 20 };
        var scenario = new Option<string[]>("--scenario") { Description = $"Scenarios (repeatable): {string.Join(", ", Scenarios)}", DefaultValueFactory = _ => Scenarios, AllowMultipleArgumentsPerToken = true };
        var shoppers = new Option<int>("--shoppers") { Description = "Simulated shoppers recorded first", DefaultValueFactory = _ => 200 };
        var json = new Option<bool>("--json") { Description = "One JSON line per scenario" };
        var command = new Command("http", "Latency percentiles of POST /v1/search and the recommendation endpoints at a fixed request rate")
        {
            server, catalog, rate, seconds, scenario, shoppers, json,
        };
        command.SetAction(async (result, ct) =>
        {
            var unknown = result.GetValue(scenario)!.Where(s => !Scenarios.Contains(s)).ToList();
            if (unknown.Count > 0)
                throw new ArgumentException($"unknown scenario {string.Join(", ", unknown)}; use {string.Join(", ", Scenarios)}");
            var file = result.GetValue(catalog)?.FullName ?? DemoCatalogLocator.Default() ?? throw new FileNotFoundException("the bundled demo catalog is missing");
            await RunAsync(result.GetValue(server)!, file, result.GetValue(rate), TimeSpan.FromSeconds(result.GetValue(seconds)),
                result.GetValue(scenario)!, result.GetValue(shoppers), result.GetValue(json), ct);
        });
        return command;
    }

    private static async Task RunAsync(Uri server, string catalogFile, double rate, TimeSpan duration, string[] scenarios, int shopperCount, bool json, CancellationToken ct)
    {
        var products = CatalogFile.Read(catalogFile).Where(l => l.Product is not null).ToList();
        var random = new Random(7);
        var ids = products.Select(p => p.Product!.Id).ToArray();
        var categories = products.Select(p => p.Product!.Category).OfType<string>().Distinct().ToArray();
        var photos = products.Where(p => p.ImagePath is not null).OrderBy(_ => random.Next()).Take(40)
            .Select(p => Convert.ToBase64String(File.ReadAllBytes(p.ImagePath!))).ToArray();
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
        {
            BaseAddress = server,
            Timeout = TimeSpan.FromSeconds(30),
        };

        // Behaviour first: each simulated shopper views, clicks and buys a dozen products in two sessions.
        var run = Guid.NewGuid().ToString("N")[..8];
        var shoppers = Enumerable.Range(0, shopperCount).Select(i => $"bench-{run}-{i}").ToArray();
        foreach (var batch in shoppers.Chunk(20))
        {
            var events = batch.SelectMany(shopper => Enumerable.Range(0, 12).Select(n => new
            {
                eventId = $"{shopper}-{n}",
                shopperId = shopper,
                sessionId = $"{shopper}-s{n / 6}",
                productId = ids[random.Next(ids.Length)],
                type = n % 6 == 5 ? "purchase" : n % 3 == 0 ? "click" : "view",
            })).ToArray();
            using var response = await http.PostAsJsonAsync("/v1/events", events, ct);
            response.EnsureSuccessStatusCode();
        }

        // Examples must differ: a product both positive and negative is a 400.
        string[] Distinct(int n) => [.. Enumerable.Range(0, n * 4).Select(_ => ids[random.Next(ids.Length)]).Distinct().Take(n)];

        Func<HttpRequestMessage> Request(string scenario) => scenario switch
        {
            "search" => () => new HttpRequestMessage(HttpMethod.Post, "/v1/search")
            {
                Content = JsonContent.Create(new
                {
                    image = photos[random.Next(photos.Length)],
                    q = Modifiers[random.Next(Modifiers.Length)],
                    k = 10,
                    filter = new { category = categories[random.Next(categories.Length)] },
                    shopper = shoppers[random.Next(shoppers.Length)],
                }),
            },
            "similar" => () => new HttpRequestMessage(HttpMethod.Get, $"/v1/products/{Uri.EscapeDataString(ids[random.Next(ids.Length)])}/similar?k=10"),
            "recommend" => () => new HttpRequestMessage(HttpMethod.Post, "/v1/recommend")
            {
                Content = JsonContent.Create(Distinct(3) is var picked ? new { positive = picked[..2], negative = picked[2..], k = 10 } : null),
            },
            "shopper" => () => new HttpRequestMessage(HttpMethod.Get, $"/v1/shoppers/{shoppers[random.Next(shoppers.Length)]}/recommendations?k=10"),
            _ => () => new HttpRequestMessage(HttpMethod.Get, $"/v1/sessions/{shoppers[random.Next(shoppers.Length)]}-s1/next?k=10"),
        };

        foreach (var scenario in scenarios)
        {
            var make = Request(scenario);
            await FireAsync(http, make, Math.Min(rate, 5), TimeSpan.FromSeconds(2), ct); // warm-up
            var (latencies, errors, elapsed) = await FireAsync(http, make, rate, duration, ct);
            var sorted = latencies.Order().ToArray();
            double P(double q) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
            if (json)
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    scenario, rate, seconds = duration.TotalSeconds, requests = sorted.Length + errors, errors,
                    achieved_rps = Math.Round(sorted.Length / elapsed.TotalSeconds, 1),
                    p50_ms = Math.Round(P(0.50), 1), p95_ms = Math.Round(P(0.95), 1), p99_ms = Math.Round(P(0.99), 1), max_ms = Math.Round(P(1), 1),
                }));
            }
            else
            {
                Console.WriteLine($"{scenario,-10} {rate,6:0.#} req/s offered, {sorted.Length / elapsed.TotalSeconds,6:0.#} answered/s, {errors} errors: " +
                    $"p50 {P(0.50):0.0} ms, p95 {P(0.95):0.0} ms, p99 {P(0.99):0.0} ms, max {P(1):0.0} ms");
            }
        }
    }

    /// <summary>Sends requests due at a fixed rate for <paramref name="duration"/>; latencies from each request's due time.</summary>
    private static async Task<(List<double> Latencies, int Errors, TimeSpan Elapsed)> FireAsync(HttpClient http, Func<HttpRequestMessage> make, double rate,
        TimeSpan duration, CancellationToken ct)
    {
        var latencies = new List<double>();
        var errors = 0;
        var clock = Stopwatch.StartNew();
        var interval = TimeSpan.FromSeconds(1 / rate);
        var pending = new List<Task>();
        for (var i = 0; ; i++)
        {
            var due = interval * i;
            if (due >= duration)
                break;
            var wait = due - clock.Elapsed;
            if (wait > TimeSpan.Zero)
                await Task.Delay(wait, ct);
            var request = make();
            pending.Add(Task.Run(async () =>
            {
                try
                {
                    using var response = await http.SendAsync(request, ct);
                    await response.Content.ReadAsByteArrayAsync(ct);
                    var latency = (clock.Elapsed - due).TotalMilliseconds;
                    lock (latencies)
                    {
                        if (response.IsSuccessStatusCode)
                            latencies.Add(latency);
                        else
                            errors++;
                    }
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
                {
                    lock (latencies)
                        errors++;
                }
                finally
                {
                    request.Dispose();
                }
            }, ct));
        }
        await Task.WhenAll(pending);
        return (latencies, errors, clock.Elapsed);
    }
}
