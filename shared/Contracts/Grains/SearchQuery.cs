namespace Platform.Contracts.Grains;

/// <summary>How a query with both words and a photo is fused: one combined query vector, or one ranked list per signal.</summary>
[GenerateSerializer, Alias("platform.FusionMode")]
public enum FusionMode
{
    /// <summary>Late fusion: each signal (words and photo, in each space) ranks on its own; the ranks are fused.</summary>
    Late = 0,

    /// <summary>Early fusion: the photo's and the words' vectors are added into one query vector before searching.</summary>
    Early = 1,
}

/// <summary>
/// Weights of the signals of a composed search (each 0 to <see cref="Max"/>; 0 turns a signal off). Null fields take
/// the configured defaults.
/// </summary>
[GenerateSerializer, Immutable, Alias("platform.SignalWeights")]
public sealed record SignalWeights
{
    public const double Max = 10;

    /// <summary>BM25 over the product's words.</summary>
    [Id(0)] public double? Lexical { get; init; }
    /// <summary>Products whose title holds every query word.</summary>
    [Id(1)] public double? Title { get; init; }
    /// <summary>The words' embedding against product texts.</summary>
    [Id(2)] public double? TextVector { get; init; }
    /// <summary>The words' embedding against product images.</summary>
    [Id(3)] public double? ImageVector { get; init; }
    /// <summary>The photo's embedding against product images (and, in early fusion, the combined vector's lists).</summary>
    [Id(4)] public double? Photo { get; init; }
    /// <summary>The photo's embedding against product texts.</summary>
    [Id(5)] public double? PhotoText { get; init; }
    /// <summary>In early fusion, the words' share of the combined query vector (0 to 1; the photo has the rest).</summary>
    [Id(6)] public double? TextShare { get; init; }
    /// <summary>Typo tolerance: character trigrams of the query's longer words.</summary>
    [Id(7)] public double? Fuzzy { get; init; }
    /// <summary>For a photo with words: BM25 over the words and the titles of the photo's nearest product.</summary>
    [Id(8)] public double? Caption { get; init; }
}

/// <summary>Business boosts from product attributes: each weight 0 to <see cref="Max"/>, raising a product's score by at most that fraction.</summary>
[GenerateSerializer, Immutable, Alias("platform.BusinessBoosts")]
public sealed record BusinessBoosts
{
    public const double Max = 0.5;

    /// <summary>Products in stock (attribute <c>in_stock</c> true, or <c>stock</c> above 0).</summary>
    [Id(0)] public double InStock { get; init; }
    /// <summary>By margin (attribute <c>margin</c>: a fraction, or a percentage above 1).</summary>
    [Id(1)] public double Margin { get; init; }
    /// <summary>New products (attribute <c>new</c> true, or <c>added</c> a date within 30 days).</summary>
    [Id(2)] public double New { get; init; }

    public bool Any => InStock > 0 || Margin > 0 || New > 0;
}

/// <summary>One search that does it all: words, a photo, or both; filtered, personalised, diversified, explained.</summary>
[GenerateSerializer, Immutable, Alias("platform.SearchQuery")]
public sealed record SearchQuery
{
    [Id(0)] public string? Text { get; init; }
    [Id(1)] public ImageInput? Image { get; init; }
    [Id(2)] public int K { get; init; } = 10;
    [Id(3)] public ProductFilter? Filter { get; init; }
    /// <summary>A shopper whose taste reranks the hits, within <see cref="Personalisation"/>.</summary>
    [Id(4)] public string? Shopper { get; init; }
    /// <summary>A session whose products so far rerank the hits, within <see cref="Personalisation"/>.</summary>
    [Id(5)] public string? Session { get; init; }
    [Id(6)] public bool Explain { get; init; }
    [Id(7)] public SignalWeights? Weights { get; init; }
    /// <summary>Early or late fusion for words with a photo; null: the configured choice (fitted by <c>platform eval</c>).</summary>
    [Id(8)] public FusionMode? Fusion { get; init; }
    /// <summary>Hits scoring below this (0 to 1: the share of the best possible fused score) are dropped.</summary>
    [Id(9)] public double MinScore { get; init; }
    /// <summary>MMR diversity, 0 (off) to 1 (as diverse as possible): how much likeness to hits above costs a hit.</summary>
    [Id(10)] public double Diversity { get; init; }
    [Id(11)] public BusinessBoosts? Boosts { get; init; }
    /// <summary>The most a shopper's or session's taste raises a hit's score (a fraction, 0 to 0.5); null: the default.</summary>
    [Id(12)] public double? Personalisation { get; init; }
}

/// <summary>A facet value and how many of the candidates have it.</summary>
[GenerateSerializer, Immutable, Alias("platform.FacetCount")]
public sealed record FacetCount([property: Id(0)] string Value, [property: Id(1)] int Count)
{
    /// <summary>For a price band: its bounds (the upper one exclusive; null for the open top band).</summary>
    [Id(2)]
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public decimal? Min { get; init; }

    [Id(3)]
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public decimal? Max { get; init; }
}

/// <summary>Facet counts over the search's candidates (every product any signal ranked, after the filter and the minimum score).</summary>
[GenerateSerializer, Immutable, Alias("platform.Facets")]
public sealed record Facets(
    [property: Id(0)] int Candidates,
    [property: Id(1)] IReadOnlyList<FacetCount> Category,
    [property: Id(2)] IReadOnlyList<FacetCount> Price);

/// <summary>What one signal did for a hit, as <c>explain</c> shows it.</summary>
[GenerateSerializer, Immutable, Alias("platform.SignalExplanation")]
public sealed record SignalExplanation(
    [property: Id(0)] string Signal,
    [property: Id(1)] int? Rank,
    [property: Id(2)] double Score,
    [property: Id(3)] double Weight,
    [property: Id(4)] double Contribution);

[GenerateSerializer, Immutable, Alias("platform.SearchResult")]
public sealed record SearchResult(
    [property: Id(0)] SearchHit[] Results,
    [property: Id(1)] Facets Facets,
    [property: Id(2)] FusionMode? Fusion);
