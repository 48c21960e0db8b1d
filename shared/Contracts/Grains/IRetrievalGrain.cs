namespace Platform.Contracts.Grains;

/// <summary>One search or recommendation hit as shoppers see it; <see cref="Reasons"/> says why it is there (for
/// recommendations: which neighbour lists it came from, at which rank).</summary>
[GenerateSerializer, Immutable, Alias("platform.SearchHit")]
public sealed record SearchHit(
    [property: Id(0)] string Id,
    [property: Id(1)] double Score,
    [property: Id(2)] string Title,
    [property: Id(3)] IReadOnlyDictionary<string, string> Attributes)
{
    [Id(4)]
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<string>? Reasons { get; init; }

    [Id(5)]
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? Category { get; init; }

    [Id(6)]
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public decimal? Price { get; init; }

    /// <summary>Each signal's rank, score, weight and part in the fused score, when the search asked to explain.</summary>
    [Id(7)]
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<SignalExplanation>? Explain { get; init; }

    /// <summary>The hit for a product, with its title, category, price and attributes.</summary>
    public static SearchHit Of(string id, double score, ProductInfo product) =>
        new(id, score, product.Title, product.Attributes ?? new Dictionary<string, string>()) { Category = product.Category, Price = product.Price };
}

/// <summary>Recommendation by example, as Qdrant's recommend API: products like the <see cref="Positive"/> ones (and
/// the words of <see cref="Text"/>, if given), unlike the <see cref="Negative"/> ones.</summary>
/// <param name="BestScore">Score each candidate against its best positive and best negative example (works with
/// negatives alone) instead of searching from the mean of the examples.</param>
[GenerateSerializer, Immutable, Alias("platform.RecommendQuery")]
public sealed record RecommendQuery(
    [property: Id(0)] IReadOnlyList<string> Positive,
    [property: Id(1)] IReadOnlyList<string> Negative,
    [property: Id(2)] string? Text,
    [property: Id(3)] int K,
    [property: Id(4)] bool BestScore)
{
    /// <summary>Which products may be recommended.</summary>
    [Id(5)] public ProductFilter? Filter { get; init; }
}

/// <summary>The hits, or the example products the index does not hold (then there are no hits).</summary>
[GenerateSerializer, Immutable, Alias("platform.RecommendResult")]
public sealed record RecommendResult(
    [property: Id(0)] SearchHit[] Hits,
    [property: Id(1)] string[] NotIndexed);

/// <summary>
/// The query path, as a stateless worker on any silo: encode the query through an encoder grain, gather candidates
/// from every signal, fuse them. Callers use key 0; Orleans runs as many local workers as it needs.
/// </summary>
[Alias("platform.IRetrievalGrain")]
public interface IRetrievalGrain : IGrainWithIntegerKey
{
    [Alias("SearchText")]
    Task<SearchHit[]> SearchText(string query, int k);

    [Alias("SearchImage")]
    Task<SearchHit[]> SearchImage(ImageInput image, int k);

    /// <summary>The composed search: words, a photo or both, with filters, facets, personalisation and explanations.</summary>
    [Alias("Search")]
    Task<SearchResult> Search(SearchQuery query);

    /// <summary>Products like <paramref name="productId"/> by its image and text neighbours and by what shoppers
    /// interacted with together with it, never the product itself; only its category's when <paramref name="sameCategory"/>.
    /// Null when the product is not in the index.</summary>
    [Alias("Similar")]
    Task<SearchHit[]?> Similar(string productId, int k, bool sameCategory, ProductFilter? filter);

    [Alias("Recommend")]
    Task<RecommendResult> Recommend(RecommendQuery query);

    /// <summary>Next products for a session's sequence so far (what is popular, for a session with none yet).</summary>
    [Alias("NextInSession")]
    Task<SearchHit[]> NextInSession(string sessionId, int k, ProductFilter? filter);
}
