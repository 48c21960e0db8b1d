using Platform.Contracts;
using Platform.Search;
using Platform.VectorStore;

namespace Platform.Distributed.Tests;

/// <summary>
/// Faults over real processes: what a merchant was told was accepted (202) must end up indexed exactly once, whatever
/// process dies on the way, and shoppers' searches must keep being answered.
/// </summary>
public sealed class FaultTests(DistributedCluster cluster) : IClassFixture<DistributedCluster>
{
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromMinutes(12);

    [Fact]
    public async Task Killing_an_encoder_silo_and_the_indexer_mid_ingest_loses_and_duplicates_nothing()
    {
        cluster.Require();
        var products = GeneratedProducts.Make("kill", 10_000);
        var driver = new IngestDriver(cluster.Gateway.Address, products);
        var events = new List<(string What, DateTime At)>();
        await using (var probe = new SearchProbe(cluster.Gateway.Address))
        {
            var ingest = driver.RunAsync(TestContext.Current.CancellationToken);

            await driver.WaitForAcknowledgedAsync(2_000);
            await cluster.Encoder1.KillAsync();
            events.Add(("encoder-1 killed", DateTime.UtcNow));

            await driver.WaitForAcknowledgedAsync(4_000);
            await cluster.Indexer.KillAsync();
            events.Add(("indexer killed", DateTime.UtcNow));

            await driver.WaitForAcknowledgedAsync(6_000);
            cluster.Encoder1.Start();
            cluster.Indexer.Start();
            await Task.WhenAll(cluster.Encoder1.WaitReadyAsync(TimeSpan.FromMinutes(2)), cluster.Indexer.WaitReadyAsync(TimeSpan.FromMinutes(2)));
            events.Add(("encoder-1 and indexer restarted", DateTime.UtcNow));

            await ingest;
            var outcome = await DrainAndReconcileAsync(driver, products.Count);
            Report("encoder silo and indexer killed (SIGKILL) mid-ingest, then restarted", driver, outcome, probe);

            Assert.All(events, e => Assert.True(probe.AnsweredAfter(e.At), $"no search was answered after '{e.What}'\n{cluster.Logs()}"));
            AssertExactlyOnce(driver, outcome);
        }
    }

    [Fact]
    public async Task Restarting_RabbitMQ_mid_ingest_loses_nothing_acknowledged()
    {
        cluster.Require();
        var products = GeneratedProducts.Make("broker", 2_000);
        var driver = new IngestDriver(cluster.Gateway.Address, products);
        await using var probe = new SearchProbe(cluster.Gateway.Address);
        var ingest = driver.RunAsync(TestContext.Current.CancellationToken);

        await driver.WaitForAcknowledgedAsync(500);
        await cluster.RabbitMq.RestartAsync();
        var restarted = DateTime.UtcNow;

        await ingest;
        var outcome = await DrainAndReconcileAsync(driver, products.Count);
        Report("RabbitMQ restarted mid-ingest", driver, outcome, probe);

        Assert.True(probe.AnsweredAfter(restarted), $"no search was answered after the broker restarted\n{cluster.Logs()}");
        AssertExactlyOnce(driver, outcome);
    }

    /// <summary>What the stores hold once nothing is pending any more.</summary>
    private sealed record Outcome(
        IReadOnlySet<string> CatalogIds, IReadOnlyDictionary<ProductStatus, int> Statuses, IReadOnlyList<string> StoreIds,
        long StoreCount, TimeSpan Drain);

    private async Task<Outcome> DrainAndReconcileAsync(IngestDriver driver, int expected)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        IReadOnlyDictionary<string, ProductStatus> statuses;
        while (true)
        {
            statuses = await cluster.Catalog.StatusesAsync(TestContext.Current.CancellationToken);
            if (!statuses.Values.Contains(ProductStatus.Pending))
                break;
            if (clock.Elapsed > DrainTimeout)
            {
                var pending = statuses.Count(s => s.Value == ProductStatus.Pending);
                Assert.Fail($"{pending} products still pending {DrainTimeout.TotalMinutes} min after the ingest ended " +
                    $"({driver.AcknowledgedCount} acknowledged of {expected})\n{cluster.Logs()}");
            }
            await Task.Delay(500);
        }
        var drain = clock.Elapsed;

        var storeIds = new List<string>();
        string? offset = null;
        do
        {
            var page = await cluster.Store.ScrollAsync("products", new ScrollRequest(5_000) { Offset = offset, WithPayload = false }, TestContext.Current.CancellationToken);
            storeIds.AddRange(page.Points.Select(p => p.Id));
            offset = page.NextOffset;
        } while (offset is not null);
        var count = await cluster.Store.CountAsync("products", cancellationToken: TestContext.Current.CancellationToken);
        var byStatus = Enum.GetValues<ProductStatus>().ToDictionary(s => s, s => statuses.Values.Count(v => v == s));
        return new Outcome(statuses.Keys.ToHashSet(StringComparer.Ordinal), byStatus, storeIds, count, drain);
    }

    private void Report(string scenario, IngestDriver driver, Outcome outcome, SearchProbe probe)
    {
        var restarted = cluster.Processes.Where(p => p.SupervisorRestarts > 0).Select(p => $"{p.Name} ×{p.SupervisorRestarts}").ToList() is { Count: > 0 } names
            ? string.Join(", ", names) : "none";
        var store = outcome.StoreIds.ToHashSet(StringComparer.Ordinal);
        var lost = driver.Acknowledged.Count(id => !store.Contains(id));
        var duplicated = outcome.StoreCount - store.Count;
        var line =
            $"fault test, {scenario}: acknowledged {driver.AcknowledgedCount}, indexed {store.Count(id => driver.Acknowledged.Contains(id))}, " +
            $"duplicated {duplicated}, lost {lost}; 503s retried {driver.Refused}, timeouts retried {driver.TimedOut}; " +
            $"ingest {driver.AcknowledgedCount / driver.Elapsed.TotalSeconds:F0} products/s acknowledged over {driver.Elapsed.TotalSeconds:F1} s, " +
            $"indexing done {outcome.Drain.TotalSeconds:F1} s after; searches answered {probe.Answered}, failed {probe.Failed}, " +
            $"longest gap in answers {probe.LongestGap.TotalSeconds:F2} s; processes that stopped themselves and were started again: {restarted}";
        TestContext.Current.TestOutputHelper?.WriteLine(line);
        Console.Error.WriteLine(line);
        var figures = Environment.GetEnvironmentVariable("PLATFORM_FAULT_FIGURES");
        if (!string.IsNullOrEmpty(figures))
            File.AppendAllText(figures, line + Environment.NewLine);
    }

    private void AssertExactlyOnce(IngestDriver driver, Outcome outcome)
    {
        Assert.True(driver.Errors.Count == 0, $"ingest errors: {string.Join("; ", driver.Errors.Take(5))}");
        Assert.Equal(0, outcome.Statuses[ProductStatus.Failed]);
        var store = outcome.StoreIds.ToHashSet(StringComparer.Ordinal);
        // Exactly once: one point per product, and the points are the catalog's products, no more, no fewer.
        Assert.Equal(store.Count, outcome.StoreCount);
        Assert.Equal(store.Count, outcome.StoreIds.Count);
        var lost = driver.Acknowledged.Where(id => !store.Contains(id)).Take(10).ToList();
        Assert.True(lost.Count == 0, $"acknowledged but not in the vector store: {string.Join(", ", lost)}\n{cluster.Logs()}");
        Assert.True(outcome.CatalogIds.SetEquals(store),
            $"catalog and vector store disagree: {outcome.CatalogIds.Except(store).Count()} only in the catalog, {store.Except(outcome.CatalogIds).Count()} only in the store");
        Assert.Equal(outcome.CatalogIds.Count, outcome.Statuses[ProductStatus.Indexed]);
    }
}
