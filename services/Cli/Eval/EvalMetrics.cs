namespace Platform.Cli.Eval;

/// <summary>
/// Ranking metrics over one query: <c>ranked</c> is a system's result list, best first; <c>relevant</c> the ids a
/// shopper would accept. Gains are binary. Signatures use only BCL types so tests can bind to them directly.
/// </summary>
public static class EvalMetrics
{
    /// <summary>
    /// The fraction of the relevant ids found in the top <paramref name="k"/> (for one relevant id: 1 if it is there,
    /// else 0). 0 when nothing is relevant.
    /// </summary>
    public static double RecallAt(IReadOnlyList<string> ranked, IReadOnlySet<string> relevant, int k)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        if (relevant.Count == 0)
            return 0;
        var found = 0;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < Math.Min(k, ranked.Count); i++)
        {
            if (relevant.Contains(ranked[i]) && seen.Add(ranked[i]))
                found++;
        }
        return (double)found / relevant.Count;
    }

    /// <summary>1-based rank of the first relevant id in <paramref name="ranked"/>, or null when none is there.</summary>
    public static int? FirstRelevantRank(IReadOnlyList<string> ranked, IReadOnlySet<string> relevant)
    {
        for (var i = 0; i < ranked.Count; i++)
        {
            if (relevant.Contains(ranked[i]))
                return i + 1;
        }
        return null;
    }

    /// <summary>Reciprocal rank of the first relevant id in the list (0 when none is in it).</summary>
    public static double ReciprocalRank(IReadOnlyList<string> ranked, IReadOnlySet<string> relevant) =>
        FirstRelevantRank(ranked, relevant) is { } rank ? 1.0 / rank : 0;

    /// <summary>
    /// nDCG at <paramref name="k"/> with binary gains: DCG = Σ rel_i / log2(i + 1) over ranks i = 1..k, divided by the
    /// DCG of an ideal list (all relevant first, min(|relevant|, k) of them). A repeated id counts once.
    /// </summary>
    public static double NdcgAt(IReadOnlyList<string> ranked, IReadOnlySet<string> relevant, int k)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        if (relevant.Count == 0)
            return 0;
        double dcg = 0;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < Math.Min(k, ranked.Count); i++)
        {
            if (relevant.Contains(ranked[i]) && seen.Add(ranked[i]))
                dcg += 1 / Math.Log2(i + 2);
        }
        double ideal = 0;
        for (var i = 0; i < Math.Min(k, relevant.Count); i++)
            ideal += 1 / Math.Log2(i + 2);
        return dcg / ideal;
    }
}

/// <summary>One system's metrics over a task, each averaged over its queries.</summary>
public sealed record MetricSummary(int Queries, double RecallAt1, double RecallAt5, double RecallAtK, double Mrr, double NdcgAtK);

/// <summary>Accumulates per-query metrics into a <see cref="MetricSummary"/>.</summary>
public sealed class MetricAccumulator(int k)
{
    private int _n;
    private double _r1, _r5, _rk, _mrr, _ndcg;

    public int K => k;

    public void Add(IReadOnlyList<string> ranked, IReadOnlySet<string> relevant)
    {
        _n++;
        _r1 += EvalMetrics.RecallAt(ranked, relevant, 1);
        _r5 += EvalMetrics.RecallAt(ranked, relevant, 5);
        _rk += EvalMetrics.RecallAt(ranked, relevant, k);
        _mrr += EvalMetrics.ReciprocalRank(ranked, relevant);
        _ndcg += EvalMetrics.NdcgAt(ranked, relevant, k);
    }

    public MetricSummary Summary() => _n == 0
        ? new MetricSummary(0, 0, 0, 0, 0, 0)
        : new MetricSummary(_n, _r1 / _n, _r5 / _n, _rk / _n, _mrr / _n, _ndcg / _n);
}
