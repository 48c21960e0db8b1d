using System.Diagnostics;
using System.Diagnostics.Metrics;
using Platform.Contracts.Grains;

namespace Platform.Encoder.Batching;

/// <summary>
/// Gathers the calls waiting for one tower into forwards of up to <see cref="BatchingOptions.MaxBatchSize"/> items.
/// While the tower is idle a call starts its forward at once (a lone shopper's query waits for nothing); while
/// forwards are running, the next one starts when it is full or its oldest call has waited
/// <see cref="BatchingOptions.MaxWait"/>, so load turns into larger batches instead of a longer queue.
/// Query calls are taken before ingest calls, so a shopper's query waits at most for the forwards already running
/// (each at most one batch) plus the gathering window, however much catalog work is queued.
/// </summary>
internal sealed class TowerQueue<TItem> : IAsyncDisposable
{
    private sealed class Call(TItem[] items, EncodePriority priority)
    {
        public TItem[] Items { get; } = items;
        public EncodePriority Priority { get; } = priority;
        public long EnqueuedAt { get; } = Stopwatch.GetTimestamp();
        public ActivityContext Caller { get; } = Activity.Current?.Context ?? default;
        public TaskCompletionSource<float[][]> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private readonly Lock _gate = new();
    private readonly Queue<Call> _queries = new();
    private readonly Queue<Call> _ingest = new();
    private readonly SemaphoreSlim _arrived = new(0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Func<IReadOnlyList<TItem>, float[][]> _forward;
    private readonly BatchingOptions _options;
    private readonly string _tower;
    private readonly string _device;
    private readonly Thread[] _workers;
    private int _queuedItems;
    private int _running;
    private long _calls, _forwards, _items;

    public TowerQueue(string tower, string device, BatchingOptions options, Func<IReadOnlyList<TItem>, float[][]> forward)
    {
        _tower = tower;
        _device = device;
        _options = options;
        _forward = forward;
        _workers = Enumerable.Range(0, options.ForwardsFor(device))
            .Select(n => new Thread(Work) { IsBackground = true, Name = $"encode {tower} {device} #{n}" })
            .ToArray();
        foreach (var worker in _workers)
            worker.Start();
    }

    public long Calls => Interlocked.Read(ref _calls);

    public long Forwards => Interlocked.Read(ref _forwards);

    public long Items => Interlocked.Read(ref _items);

    public Task<float[][]> EncodeAsync(TItem[] items, EncodePriority priority)
    {
        if (items.Length == 0)
            return Task.FromResult(Array.Empty<float[]>());
        var call = new Call(items, priority);
        lock (_gate)
        {
            if (_stop.IsCancellationRequested)
                throw new ObjectDisposedException($"the {_tower} encoder on {_device} is shutting down");
            (priority == EncodePriority.Query ? _queries : _ingest).Enqueue(call);
            _queuedItems += items.Length;
        }
        Interlocked.Increment(ref _calls);
        _arrived.Release();
        return call.Result.Task;
    }

    // Forwards block their thread for milliseconds at a time: each worker is a thread of its own, not the thread
    // pool's (blocking pool threads starves everything else of the process, Orleans' scheduler included).
    private void Work()
    {
        var token = _stop.Token;
        try
        {
            while (true)
            {
                _arrived.Wait(token);
                while (Take(token) is { } batch)
                    Run(batch);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // shutting down: DisposeAsync fails what is still queued
        }
    }

    /// <summary>The next batch, once it is full or its oldest call has waited long enough; null when nothing waits.</summary>
    private List<Call>? Take(CancellationToken token)
    {
        if (_options.Enabled && Volatile.Read(ref _running) > 0)
        {
            while (true)
            {
                long oldest;
                lock (_gate)
                {
                    if (_queuedItems == 0)
                        return null;
                    if (_queuedItems >= _options.MaxBatchSize)
                        break;
                    oldest = Math.Min(_queries.TryPeek(out var q) ? q.EnqueuedAt : long.MaxValue, _ingest.TryPeek(out var i) ? i.EnqueuedAt : long.MaxValue);
                }
                var left = _options.MaxWait - Stopwatch.GetElapsedTime(oldest);
                if (left <= TimeSpan.Zero)
                    break;
                _arrived.Wait(left, token); // woken by the next arrival, or the window closes
            }
        }

        lock (_gate)
        {
            var batch = new List<Call>();
            var items = 0;
            foreach (var queue in (Queue<Call>[])[_queries, _ingest])
            {
                while (queue.TryPeek(out var next) && (batch.Count == 0 || (_options.Enabled && items + next.Items.Length <= _options.MaxBatchSize)))
                {
                    batch.Add(queue.Dequeue());
                    items += next.Items.Length;
                    if (!_options.Enabled)
                        break;
                }
                if (!_options.Enabled && batch.Count > 0)
                    break;
            }
            _queuedItems -= items;
            return batch.Count == 0 ? null : batch;
        }
    }

    private void Run(List<Call> batch)
    {
        var items = new List<TItem>(batch.Sum(c => c.Items.Length));
        foreach (var call in batch)
        {
            items.AddRange(call.Items);
            EncoderTelemetry.QueueWait.Record(Stopwatch.GetElapsedTime(call.EnqueuedAt).TotalMilliseconds,
                new KeyValuePair<string, object?>("tower", _tower), new KeyValuePair<string, object?>("priority", call.Priority.ToString()));
        }

        float[][] vectors;
        Interlocked.Increment(ref _running);
        try
        {
            vectors = new float[items.Count][];
            // A single call larger than a batch runs in batch-sized forwards.
            for (var start = 0; start < items.Count; start += _options.MaxBatchSize)
            {
                var count = Math.Min(_options.MaxBatchSize, items.Count - start);
                // The forward runs on the queue's thread: its span joins the first caller's trace and links the others'.
                using var activity = EncoderTelemetry.Source.StartActivity($"encode {_tower}", ActivityKind.Internal, batch[0].Caller,
                    links: batch.Count > 1 ? batch.Skip(1).Where(c => c.Caller != default).Select(c => new ActivityLink(c.Caller)) : null);
                activity?.SetTag("encoder.device", _device);
                activity?.SetTag("encoder.batch_size", count);
                activity?.SetTag("encoder.calls", batch.Count);
                var rows = _forward(items.GetRange(start, count));
                rows.CopyTo(vectors, start);
                Interlocked.Increment(ref _forwards);
                EncoderTelemetry.BatchSize.Record(count, new KeyValuePair<string, object?>("tower", _tower), new KeyValuePair<string, object?>("device", _device));
            }
            Interlocked.Add(ref _items, items.Count);
        }
        catch (Exception e)
        {
            foreach (var call in batch)
                call.Result.TrySetException(e);
            return;
        }
        finally
        {
            Interlocked.Decrement(ref _running);
        }

        var offset = 0;
        foreach (var call in batch)
        {
            call.Result.TrySetResult(vectors[offset..(offset + call.Items.Length)]);
            offset += call.Items.Length;
        }
    }

    public async ValueTask DisposeAsync()
    {
        lock (_gate)
            _stop.Cancel();
        // A forward in progress finishes first (its callers get their answers).
        await Task.Run(() =>
        {
            foreach (var worker in _workers)
                worker.Join();
        });
        lock (_gate)
        {
            foreach (var call in _queries.Concat(_ingest))
                call.Result.TrySetException(new ObjectDisposedException($"the {_tower} encoder on {_device} shut down before this call ran"));
            _queries.Clear();
            _ingest.Clear();
        }
        _stop.Dispose();
        _arrived.Dispose();
    }
}

/// <summary>The encoder's spans and metrics: a span per forward (batch size, device), batch sizes, queue wait.</summary>
public static class EncoderTelemetry
{
    public const string Name = "Platform.Encoder";

    internal static readonly ActivitySource Source = new(Name);

    private static readonly Meter Meter = new(Name);

    internal static readonly Histogram<int> BatchSize = Meter.CreateHistogram<int>("platform.encoder.batch_size", "{item}", "Items in one forward of a tower");

    internal static readonly Histogram<double> QueueWait = Meter.CreateHistogram<double>("platform.encoder.queue_wait", "ms", "Time a call waited in the batching queue before its forward");
}
