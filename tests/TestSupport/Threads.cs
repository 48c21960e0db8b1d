using System.Collections.Concurrent;

namespace Platform.Tests;

/// <summary>Runs a body on several real threads at once (not the pool), for tests of concurrent callers.</summary>
public static class Threads
{
    /// <summary>Starts <paramref name="count"/> threads running <paramref name="body"/>(index), waits for all, and
    /// throws what any of them threw (an assertion failed on a thread fails the test).</summary>
    public static void RunAll(int count, Action<int> body)
    {
        var failures = new ConcurrentQueue<Exception>();
        var threads = Enumerable.Range(0, count).Select(t => new Thread(() =>
        {
            try
            {
                body(t);
            }
            catch (Exception e)
            {
                failures.Enqueue(e);
            }
        })).ToArray();
        foreach (var thread in threads)
            thread.Start();
        foreach (var thread in threads)
            thread.Join();
        if (!failures.IsEmpty)
            throw new AggregateException($"{failures.Count} of {count} threads failed", failures);
    }
}
