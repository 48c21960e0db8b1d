using Platform.Contracts;
using Platform.Contracts.Grains;
using Platform.Search;

namespace Platform.Retrieval.Behaviour;

/// <summary>
/// What the platform knows of a shopper, folded from their interactions in log order: a bounded recent history, a
/// taste vector in the image and in the text space (a sum of the products' embeddings weighted by interaction type,
/// halving every <see cref="HalfLife"/>), decayed category weights, a decayed price distribution (of log prices), and
/// what never to recommend (bought or disliked). <see cref="Watermark"/> is the last log sequence folded in: a profile
/// is brought up to date by folding what the log holds after it.
/// </summary>
[GenerateSerializer, Alias("platform.ShopperState")]
public sealed class ShopperState
{
    public const int RecentLimit = 50;
    public const int ExcludedLimit = 1000;
    public static readonly TimeSpan HalfLife = TimeSpan.FromDays(14);

    [Id(0)] public long Watermark { get; set; }
    [Id(1)] public List<RecentInteraction> Recent { get; set; } = [];
    [Id(2)] public float[]? ImageTaste { get; set; }
    [Id(3)] public float[]? TextTaste { get; set; }
    /// <summary>The instant the decayed sums are expressed at (the latest interaction folded).</summary>
    [Id(4)] public DateTimeOffset DecayedAt { get; set; }
    [Id(5)] public Dictionary<string, double> Categories { get; set; } = new(StringComparer.Ordinal);
    [Id(6)] public double PriceWeight { get; set; }
    [Id(7)] public double PriceSum { get; set; }
    [Id(8)] public double PriceSquares { get; set; }
    /// <summary>Bought or disliked, oldest first (bounded): never recommended.</summary>
    [Id(9)] public List<string> Excluded { get; set; } = [];
    [Id(10)] public long Interactions { get; set; }
    /// <summary>The decayed weight of the positive interactions (views to purchases) folded into the taste.</summary>
    [Id(11)] public double PositiveWeight { get; set; }

    /// <summary>Decayed weights of the products' subcategories (their <c>subcategory</c> attribute), as <see cref="Categories"/>.</summary>
    [Id(12)] public Dictionary<string, double> Subcategories { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Whether the taste vectors say something: some product was liked, not only disliked.</summary>
    public bool HasTaste => PositiveWeight > 1e-6 && (ImageTaste is not null || TextTaste is not null);

    /// <summary>Folds one logged interaction in; <paramref name="product"/> is null when the product is not in the index.</summary>
    public void Apply(LoggedInteraction logged, IndexedProduct? product)
    {
        var interaction = logged.Interaction;
        Watermark = Math.Max(Watermark, logged.Sequence);
        Interactions++;
        Recent.Add(new RecentInteraction(interaction.ProductId, interaction.Type, interaction.At, interaction.SessionId));
        if (Recent.Count > RecentLimit)
            Recent.RemoveRange(0, Recent.Count - RecentLimit);
        if (interaction.Type is InteractionType.Purchase or InteractionType.Dislike)
        {
            Excluded.Remove(interaction.ProductId);
            Excluded.Add(interaction.ProductId);
            if (Excluded.Count > ExcludedLimit)
                Excluded.RemoveRange(0, Excluded.Count - ExcludedLimit);
        }
        if (product is null)
            return;

        // Sums are kept at DecayedAt: a later interaction first ages them, an earlier one (sent late) counts aged itself.
        double weight = InteractionWeights.Of(interaction.Type);
        if (interaction.At > DecayedAt)
        {
            Age(Decay(interaction.At - DecayedAt));
            DecayedAt = interaction.At;
        }
        else
        {
            weight *= Decay(DecayedAt - interaction.At);
        }
        ImageTaste = Add(ImageTaste, product.Image, weight);
        TextTaste = Add(TextTaste, product.Text, weight);
        if (weight > 0)
        {
            PositiveWeight += weight;
            if (!string.IsNullOrEmpty(product.Product.Category))
                Categories[product.Product.Category] = Categories.GetValueOrDefault(product.Product.Category) + weight;
            if (product.Product.Attributes?.GetValueOrDefault(ProductFilter.SubcategoryAttribute) is { Length: > 0 } subcategory)
                Subcategories[subcategory] = Subcategories.GetValueOrDefault(subcategory) + weight;
            if (product.Product.Price is > 0 and var price)
            {
                var log = Math.Log((double)price);
                PriceWeight += weight;
                PriceSum += weight * log;
                PriceSquares += weight * log * log;
            }
        }
    }

    /// <summary>The taste as a search personalises by it (unit vectors, category shares), or null with no taste.</summary>
    public ShopperTaste? Taste()
    {
        if (!HasTaste)
            return null;
        return new ShopperTaste(Unit(ImageTaste), Unit(TextTaste), CategoryShares());
    }

    /// <summary>Each category with a positive weight and its share of them all (0..1), largest first.</summary>
    public Dictionary<string, double> CategoryShares()
    {
        var total = Categories.Values.Where(v => v > 0).Sum();
        return total <= 0
            ? []
            : Categories.Where(c => c.Value > 0).OrderByDescending(c => c.Value).ThenBy(c => c.Key, StringComparer.Ordinal)
                .ToDictionary(c => c.Key, c => c.Value / total, StringComparer.Ordinal);
    }

    /// <summary>A vector scaled to unit length; null for none or a zero vector.</summary>
    public static float[]? Unit(float[]? vector)
    {
        if (vector is null)
            return null;
        var norm = Math.Sqrt(vector.Sum(v => (double)v * v));
        return norm < 1e-9 ? null : [.. vector.Select(v => (float)(v / norm))];
    }

    /// <summary>Each category's share of the positive category weight (0..1).</summary>
    public double CategoryShare(string? category) => Share(Categories, category);

    /// <summary>Each subcategory's share of the positive subcategory weight (0..1).</summary>
    public double SubcategoryShare(string? subcategory) => Share(Subcategories, subcategory);

    private static double Share(Dictionary<string, double> weights, string? key)
    {
        if (string.IsNullOrEmpty(key) || weights.Count == 0)
            return 0;
        var total = weights.Values.Where(v => v > 0).Sum();
        return total <= 0 ? 0 : Math.Max(0, weights.GetValueOrDefault(key)) / total;
    }

    /// <summary>How well a price fits the shopper's prices: 1 at their typical price, falling off with distance in log price; 0 when unknown.</summary>
    public double PriceFit(decimal? price)
    {
        if (price is not > 0 || PriceWeight <= 0)
            return 0;
        var mean = PriceSum / PriceWeight;
        var spread = Math.Max(0.35, Math.Sqrt(Math.Max(0, PriceSquares / PriceWeight - mean * mean)));
        var z = (Math.Log((double)price) - mean) / spread;
        return Math.Exp(-z * z / 2);
    }

    /// <summary>The shopper's typical price band (geometric mean ± one spread), or null with no prices seen.</summary>
    public (decimal Low, decimal High)? PriceBand()
    {
        if (PriceWeight <= 0)
            return null;
        var mean = PriceSum / PriceWeight;
        var spread = Math.Sqrt(Math.Max(0, PriceSquares / PriceWeight - mean * mean));
        return ((decimal)Math.Round(Math.Exp(mean - spread), 2), (decimal)Math.Round(Math.Exp(mean + spread), 2));
    }

    private static double Decay(TimeSpan age) => Math.Pow(0.5, age / HalfLife);

    private void Age(double factor)
    {
        if (factor >= 1)
            return;
        Scale(ImageTaste, factor);
        Scale(TextTaste, factor);
        foreach (var key in Categories.Keys.ToList())
            Categories[key] *= factor;
        foreach (var key in Subcategories.Keys.ToList())
            Subcategories[key] *= factor;
        PositiveWeight *= factor;
        PriceWeight *= factor;
        PriceSum *= factor;
        PriceSquares *= factor;
    }

    private static void Scale(float[]? vector, double factor)
    {
        if (vector is null)
            return;
        for (var i = 0; i < vector.Length; i++)
            vector[i] = (float)(vector[i] * factor);
    }

    private static float[]? Add(float[]? sum, float[]? vector, double weight)
    {
        if (vector is null)
            return sum;
        if (sum is null || sum.Length != vector.Length)
            sum = new float[vector.Length]; // first taste, or the model changed: start again
        for (var i = 0; i < vector.Length; i++)
            sum[i] += (float)(weight * vector[i]);
        return sum;
    }
}
