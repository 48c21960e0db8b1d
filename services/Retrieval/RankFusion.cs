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
/// <remarks>Reasons are text made only for the hits served (<see cref="Reasons"/>): fusing runs many times per
/// query when weights are fitted, and most candidates are never shown.</remarks>
public sealed class FusedCandidate(string id)
{
    private readonly List<RankedList> _sources = [];
    private List<string>? _notes;

    public string Id { get; } = id;
    public double Score { get; set; }
    public List<SignalContribution> Signals { get; } = [];

    internal void Add(RankedList source, SignalContribution contribution)
    {
        _sources.Add(source);
        Signals.Add(contribution);
        Score += contribution.Contribution;
    }

    /// <summary>Adds a reason beyond the signals' own ("you often look at footwear").</summary>
    public void Note(string reason) => (_notes ??= []).Add(reason);

    /// <summary>Why the candidate is here: each signal's reason with its rank and score, then the notes.</summary>
    public IReadOnlyList<string> Reasons() =>
    [
        .. Signals.Select((s, i) => $"{_sources[i].Reason} (#{s.Rank}, {_sources[i].ScoreName} {s.Score:0.000})"),
        .. _notes ?? [],
    ];
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
                candidate.Add(list, new SignalContribution(list.Signal, rank, item.Score, list.Weight, list.Weight / (rankConstant + rank)));
            }
        }
        return [.. fused.Values.OrderByDescending(c => c.Score).ThenBy(c => c.Id, StringComparer.Ordinal)];
    }
}
