using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Platform.Catalog;
using Platform.Contracts;
using Platform.Tests;

namespace Platform.Distributed.Tests;

/// <summary>Generated products: the demo catalog's images under varied titles, so each has content of its own.</summary>
public static class GeneratedProducts
{
    private static readonly Lazy<IReadOnlyList<(ProductInfo Product, byte[] Image)>> Demo = new(() =>
        CatalogFile.Read(RepoPaths.InRepo("models", "demo-catalog", "catalog.jsonl"))
            .Where(l => l.Error is null)
            .Select(l => (l.Product!, File.ReadAllBytes(l.ImagePath!)))
            .ToList());

    /// <summary>Demo catalog products as they are (their own ids), lines <paramref name="lines"/> of the catalog file.</summary>
    public static IReadOnlyList<(ProductInfo Product, byte[] Image)> FromDemo(params System.Range[] lines) =>
        [.. lines.SelectMany(r => Demo.Value.Take(r))];

    public static IReadOnlyList<(ProductInfo Product, byte[] Image)> Make(string prefix, int count)
    {
        var demo = Demo.Value;
        return Enumerable.Range(0, count).Select(i =>
        {
            var (product, image) = demo[i % demo.Count];
            var edition = i / demo.Count + 1;
            return (product with { Id = $"{prefix}-{i:D5}", Title = $"{product.Title}, edition {edition}" }, image);
        }).ToList();
    }
}

/// <summary>
/// Posts products to the gateway from several workers, as a merchant's loader would: a 503 (the bus did not take the
/// product in time) is retried after a pause until the gateway acknowledges it (202).
/// </summary>
public sealed class IngestDriver(Uri gateway, IReadOnlyList<(ProductInfo Product, byte[] Image)> products, int workers = 8)
{
    private readonly ConcurrentDictionary<string, bool> _acknowledged = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _errors = new();
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _refused;
    private int _timedOut;

    public IReadOnlyCollection<string> Acknowledged => (IReadOnlyCollection<string>)_acknowledged.Keys;

    public int AcknowledgedCount => _acknowledged.Count;

    /// <summary>503 answers (each retried).</summary>
    public int Refused => _refused;

    /// <summary>Requests that got no answer within the client's timeout (each retried).</summary>
    public int TimedOut => _timedOut;

    public IReadOnlyCollection<string> Errors => _errors;

    public TimeSpan Elapsed { get; private set; }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        using var http = new HttpClient { BaseAddress = gateway, Timeout = TimeSpan.FromSeconds(30) };
        try
        {
            await Parallel.ForEachAsync(products, new ParallelOptions { MaxDegreeOfParallelism = workers, CancellationToken = cancellationToken },
                async (item, ct) => await IngestOneAsync(http, item.Product, item.Image, ct));
        }
        finally
        {
            Elapsed = clock.Elapsed;
            _done.TrySetResult();
        }
    }

    /// <summary>Until at least <paramref name="count"/> products are acknowledged, or the run ended.</summary>
    public async Task WaitForAcknowledgedAsync(int count)
    {
        while (_acknowledged.Count < count && !_done.Task.IsCompleted)
            await Task.Delay(50);
    }

    private async Task IngestOneAsync(HttpClient http, ProductInfo product, byte[] image, CancellationToken ct)
    {
        var body = new
        {
            product.Id, product.Title, product.Description, product.Category, product.Price, product.Attributes,
            Image = Convert.ToBase64String(image),
        };
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
        while (true)
        {
            try
            {
                using var response = await http.PostAsJsonAsync("/v1/products", body, ct);
                if (response.StatusCode == HttpStatusCode.Accepted)
                {
                    _acknowledged[product.Id] = true;
                    return;
                }
                if (response.StatusCode != HttpStatusCode.ServiceUnavailable)
                {
                    _errors.Enqueue($"{product.Id}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}");
                    return;
                }
                Interlocked.Increment(ref _refused);
            }
            catch (HttpRequestException e)
            {
                _errors.Enqueue($"{product.Id}: {e.Message}");
                return;
            }
            catch (TaskCanceledException) when (!ct.IsCancellationRequested)
            {
                // No answer within the client's timeout: the merchant's loader gives up on this try and sends again.
                Interlocked.Increment(ref _timedOut);
            }
            if (DateTime.UtcNow > deadline)
            {
                _errors.Enqueue($"{product.Id}: still refused with 503 after 3 minutes");
                return;
            }
            await Task.Delay(500, ct);
        }
    }
}

/// <summary>Searches the gateway every 100 ms from the start of a run to its end, recording what answered and when.</summary>
public sealed class SearchProbe : IAsyncDisposable
{
    private static readonly string[] Queries = ["monkey", "red apple", "sunglasses", "连衣裙", "rocket", "running shoes"];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly List<DateTime> _answers = [];
    private readonly DateTime _started = DateTime.UtcNow;
    private DateTime _ended;
    private int _failed;

    public SearchProbe(Uri gateway) => _loop = Task.Run(() => LoopAsync(gateway));

    public int Answered { get { lock (_answers) return _answers.Count; } }

    public int Failed => _failed;

    /// <summary>The longest time without an answered search, from the start of the run to its end.</summary>
    public TimeSpan LongestGap
    {
        get
        {
            lock (_answers)
            {
                var points = new List<DateTime> { _started };
                points.AddRange(_answers);
                points.Add(_ended == default ? DateTime.UtcNow : _ended);
                return points.Zip(points.Skip(1), (a, b) => b - a).Max();
            }
        }
    }

    /// <summary>Whether some search was answered after <paramref name="moment"/>.</summary>
    public bool AnsweredAfter(DateTime moment)
    {
        lock (_answers)
            return _answers.Count > 0 && _answers[^1] > moment;
    }

    private async Task LoopAsync(Uri gateway)
    {
        using var http = new HttpClient { BaseAddress = gateway, Timeout = TimeSpan.FromSeconds(10) };
        for (var i = 0; !_stop.IsCancellationRequested; i++)
        {
            try
            {
                using var response = await http.GetAsync($"/v1/search?q={Uri.EscapeDataString(Queries[i % Queries.Length])}&k=5", _stop.Token);
                if (response.IsSuccessStatusCode)
                {
                    lock (_answers)
                        _answers.Add(DateTime.UtcNow);
                }
                else
                {
                    Interlocked.Increment(ref _failed);
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                Interlocked.Increment(ref _failed);
            }
            try
            {
                await Task.Delay(100, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _ended = DateTime.UtcNow;
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }
}
