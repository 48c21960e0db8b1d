using Platform.Contracts;
using Platform.Contracts.Grains;

namespace Platform.Retrieval;

/// <summary>One signal's ranked candidates, best first, and how much its ranks count.</summary>
/// <param name="Signal">The signal's name, as <c>explain</c> shows it (<c>lexical</c>, <c>image-vector</c>, ...).</param>
/// <param name="Reason">How a hit's reason reads for this signal, e.g. "looks alike".</param>
/// <param name="ScoreName">What the score is ("similarity", "bm25", "weight").</param>
public sealed record RankedList(string Signal, double Weight, IReadOnlyList<ProductScore> Items, string Reason, string ScoreName = "score");

/// <summary>One signal's part in a fused hit.</summary>
[GenerateSerializer, Immutable, Alias("platform.SignalContribution")]
public sealed record SignalContribution(
    [property: Id(0)] string Signal,
    [property: Id(1)] int Rank,
    [property: Id(2)] double Score,
    [property: Id(3)] double Weight,
    [property: Id(4)] double Contribution);

/// <summary>A fused candidate: its score, and what each signal gave it.</summary>
public sealed class FusedCandidate(string id)
{
    public string Id { get; } = id;
    public double Score { get; set; }
    public List<SignalContribution> Signals { get; } = [];
    public List<string> Reasons { get; } = [];
}

/// <summary>Weighted reciprocal-rank fusion: a candidate's score is the sum over lists of weight / (k + rank).</summary>
public static class RankFusion
{
    public static List<FusedCandidate> Fuse(IEnumerable<RankedList> lists, int rankConstant)
    {
        var fused = new Dictionary<string, FusedCandidate>(StringComparer.Ordinal);
        foreach (var list in lists)
        {
            if (list.Weight <= 0)
                continue;
            var rank = 0;
            foreach (var item in list.Items)
            {
                rank++;
                if (!fused.TryGetValue(item.ProductId, out var candidate))
                    fused[item.ProductId] = candidate = new FusedCandidate(item.ProductId);
                var contribution = list.Weight / (rankConstant + rank);
                candidate.Score += contribution;
                candidate.Signals.Add(new SignalContribution(list.Signal, rank, item.Score, list.Weight, contribution));
                candidate.Reasons.Add($"{list.Reason} (#{rank}, {list.ScoreName} {item.Score:0.000})");
            }
        }
        return [.. fused.Values.OrderByDescending(c => c.Score).ThenBy(c => c.Id, StringComparer.Ordinal)];
    }
}
