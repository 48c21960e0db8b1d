using Platform.Contracts;

namespace Platform.Catalog.Behaviour;

/// <summary>The arithmetic of the aggregates, the same for every store: popularity days and pair weights.</summary>
internal static class InteractionAggregation
{
    /// <summary>The UTC day an instant falls on, as days since 1970-01-01.</summary>
    public static long Day(DateTimeOffset at) => (long)Math.Floor(at.ToUnixTimeMilliseconds() / 86_400_000.0);

    /// <summary>What the interaction adds to its product's popularity: its weight, nothing for a dislike.</summary>
    public static double Popularity(InteractionType type) => Math.Max(0, InteractionWeights.Of(type));

    /// <summary>
    /// The pair weights an interaction adds, in both directions, with the shopper's earlier interactions
    /// (<paramref name="partners"/>, most recent first): per other product, the smaller of the two weights, the
    /// partner's strongest interaction counting. Nothing for a dislike.
    /// </summary>
    public static IReadOnlyList<(string A, string B, double Weight)> Pairs(Interaction interaction, IEnumerable<(string ProductId, InteractionType Type)> partners)
    {
        var own = InteractionWeights.Of(interaction.Type);
        if (own <= 0)
            return [];
        var strongest = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (product, type) in partners)
        {
            var weight = InteractionWeights.Of(type);
            if (product == interaction.ProductId || weight <= 0)
                continue;
            strongest[product] = Math.Max(strongest.GetValueOrDefault(product), weight);
        }
        var pairs = new List<(string, string, double)>(strongest.Count * 2);
        foreach (var (product, weight) in strongest)
        {
            var pair = Math.Min(own, weight);
            pairs.Add((interaction.ProductId, product, pair));
            pairs.Add((product, interaction.ProductId, pair));
        }
        return pairs;
    }
}
