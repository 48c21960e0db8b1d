using System.Collections.Concurrent;
using Platform.Contracts.Grains;
using Platform.Encoder.Batching;

namespace Platform.Grains.Tests;

/// <summary>The batching queue alone, over a fake tower whose forwards the test holds and releases.</summary>
public sealed class TowerQueueTests
{
    private sealed class HeldTower
    {
        public readonly SemaphoreSlim Release = new(0);
        public readonly ConcurrentQueue<string[]> Forwards = new();
        public readonly SemaphoreSlim Started = new(0);

        public float[][] Forward(IReadOnlyList<string> items)
        {
            Forwards.Enqueue([.. items]);
            Started.Release();
            Release.Wait(TimeSpan.FromSeconds(30));
            return [.. items.Select(i => new[] { (float)i.Length })];
        }
    }

    [Fact]
    public async Task A_query_goes_ahead_of_queued_ingest_work()
    {
        var tower = new HeldTower();
        var options = new BatchingOptions { MaxBatchSize = 4, MaxWait = TimeSpan.Zero, ConcurrentForwards = 1 };
        await using var queue = new TowerQueue<string>("text", "cpu", options, tower.Forward);

        var running = queue.EncodeAsync(["ingest-0"], EncodePriority.Ingest);
        Assert.True(await tower.Started.WaitAsync(TimeSpan.FromSeconds(10))); // the first forward holds the tower
        var backlog = Enumerable.Range(1, 3).Select(i => queue.EncodeAsync([$"ingest-{i}a", $"ingest-{i}b", $"ingest-{i}c", $"ingest-{i}d"], EncodePriority.Ingest)).ToList();
        var query = queue.EncodeAsync(["query"], EncodePriority.Query);
        tower.Release.Release(5);

        await Task.WhenAll([running, query, .. backlog]);
        var order = tower.Forwards.ToArray();
        Assert.Equal(["ingest-0"], order[0]);
        Assert.Equal(["query"], order[1]); // not after the three full ingest batches queued before it
        Assert.Equal(5, order.Length);
    }

    [Fact]
    public async Task Calls_are_gathered_up_to_the_batch_size_and_answered_in_their_own_order()
    {
        var tower = new HeldTower();
        var options = new BatchingOptions { MaxBatchSize = 8, MaxWait = TimeSpan.FromMilliseconds(200), ConcurrentForwards = 1 };
        await using var queue = new TowerQueue<string>("text", "cpu", options, tower.Forward);

        // The first call finds the tower idle and runs at once; the others arrive while it runs and are gathered.
        var calls = new List<Task<float[][]>> { queue.EncodeAsync(["x", new string('y', 11)], EncodePriority.Ingest) };
        Assert.True(await tower.Started.WaitAsync(TimeSpan.FromSeconds(10)));
        calls.AddRange(Enumerable.Range(2, 5).Select(n => queue.EncodeAsync([new string('x', n), new string('y', n + 10)], EncodePriority.Ingest)));
        tower.Release.Release(100);
        var answers = await Task.WhenAll(calls);

        for (var n = 1; n <= 6; n++)
            Assert.Equal(new[] { (float)n, n + 10f }, answers[n - 1].Select(v => v[0]));
        Assert.Equal([2, 8, 2], tower.Forwards.Select(f => f.Length)); // 1 call, then 4 calls (8 items), then the last
    }

    [Fact]
    public async Task A_lone_call_on_an_idle_tower_does_not_wait_for_the_gathering_window()
    {
        var tower = new HeldTower();
        tower.Release.Release(100);
        var options = new BatchingOptions { MaxBatchSize = 32, MaxWait = TimeSpan.FromSeconds(10), ConcurrentForwards = 1 };
        await using var queue = new TowerQueue<string>("text", "cpu", options, tower.Forward);

        var answer = queue.EncodeAsync(["alone"], EncodePriority.Query);

        // Well inside the ten-second window: the call did not wait for companions.
        Assert.Same(answer, await Task.WhenAny(answer, Task.Delay(TimeSpan.FromSeconds(5))));
    }

    [Fact]
    public async Task A_call_larger_than_a_batch_runs_in_batch_sized_forwards()
    {
        var tower = new HeldTower();
        tower.Release.Release(100);
        await using var queue = new TowerQueue<string>("text", "cpu", new BatchingOptions { MaxBatchSize = 3, ConcurrentForwards = 1 }, tower.Forward);

        var answer = await queue.EncodeAsync([.. Enumerable.Range(1, 7).Select(n => new string('z', n))], EncodePriority.Ingest);

        Assert.Equal([1f, 2, 3, 4, 5, 6, 7], answer.Select(v => v[0]));
        Assert.Equal([3, 3, 1], tower.Forwards.Select(f => f.Length));
    }

    [Fact]
    public async Task A_failing_forward_fails_its_callers_and_the_queue_keeps_serving()
    {
        var calls = 0;
        await using var queue = new TowerQueue<string>("text", "cpu", new BatchingOptions { MaxWait = TimeSpan.Zero, ConcurrentForwards = 1 },
            items => Interlocked.Increment(ref calls) == 1 ? throw new InvalidOperationException("device lost") : [.. items.Select(_ => new[] { 1f })]);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => queue.EncodeAsync(["a"], EncodePriority.Query));
        Assert.Equal("device lost", error.Message);
        Assert.Single(await queue.EncodeAsync(["b"], EncodePriority.Query));
    }
}
