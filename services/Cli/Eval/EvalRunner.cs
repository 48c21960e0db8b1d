using System.Diagnostics;
using System.Text.Json;

namespace Platform.Cli.Eval;

/// <summary>One system's result on one task. <c>Errors</c>: queries that failed (counted as misses).</summary>
public sealed record SystemResult(string System, MetricSummary Metrics, int Errors);

/// <summary>One task's results: a <see cref="SystemResult"/> per system that can answer its kind of query.</summary>
public sealed record TaskResult(string Name, string Description, QueryKind Kind, int Queries, int Available, IReadOnlyList<SystemResult> Systems);

/// <summary>Wall-clock time one system spent on one task, including encoding its queries.</summary>
public sealed record TaskTiming(string Task, string System, double Seconds, double MillisecondsPerQuery);

/// <summary>Runs every task through every system that supports it, collecting metrics and per-query lines.</summary>
public sealed class EvalRunner(int k, int depth, TextWriter perQuery, List<string> problems)
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public List<TaskTiming> Timings { get; } = [];

    public async Task<TaskResult> RunAsync(EvalTask task, IReadOnlyList<ISearchSystem> systems, Action<int> progress, CancellationToken ct)
    {
        var results = new List<SystemResult>();
        foreach (var system in systems.Where(s => s.Supports(task.Kind)))
        {
            var metrics = new MetricAccumulator(k);
            var errors = 0;
            var watch = Stopwatch.StartNew();
            await system.PrepareAsync(task, ct);
            foreach (var query in task.Queries)
            {
                IReadOnlyList<string> ranked;
                try
                {
                    ranked = await system.SearchAsync(task.Kind, query.Query, depth, ct);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    if (errors++ == 0)
                        problems.Add($"{task.Name}/{system.Name}: query '{query.Query}' failed: {e.Message} (failed queries count as misses)");
                    ranked = [];
                }
                metrics.Add(ranked, query.Relevant);
                await perQuery.WriteLineAsync(JsonSerializer.Serialize(new
                {
                    task = task.Name,
                    system = system.Name,
                    query = query.Query,
                    relevant = query.Relevant.Order(StringComparer.Ordinal).ToList(),
                    top = ranked.Take(k).ToList(),
                    first_relevant_rank = EvalMetrics.FirstRelevantRank(ranked, query.Relevant),
                }, Json));
                progress(1);
            }
            watch.Stop();
            if (errors > 1)
                problems.Add($"{task.Name}/{system.Name}: {errors} of {task.Queries.Count} queries failed");
            results.Add(new SystemResult(system.Name, metrics.Summary(), errors));
            Timings.Add(new TaskTiming(task.Name, system.Name, watch.Elapsed.TotalSeconds,
                task.Queries.Count == 0 ? 0 : watch.Elapsed.TotalMilliseconds / task.Queries.Count));
        }
        return new TaskResult(task.Name, task.Description, task.Kind, task.Queries.Count, task.Available, results);
    }
}
