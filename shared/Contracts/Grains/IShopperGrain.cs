namespace Platform.Contracts.Grains;

/// <summary>What recording a batch of interactions did: how many were new, how many the log held already (retries).</summary>
[GenerateSerializer, Immutable, Alias("platform.RecordOutcome")]
public sealed record RecordOutcome([property: Id(0)] int Recorded, [property: Id(1)] int Duplicates);

/// <summary>What the platform knows of a shopper, as <c>GET /v1/shoppers/{id}</c> shows it.</summary>
/// <param name="Categories">Each category's share of the shopper's (decayed) interest, largest first.</param>
/// <param name="PriceBand">Their typical prices (one spread either side of the typical log price), when they saw prices.</param>
/// <param name="Excluded">Bought or disliked: never recommended to them.</param>
[GenerateSerializer, Immutable, Alias("platform.ShopperSummary")]
public sealed record ShopperSummary(
    [property: Id(0)] string ShopperId,
    [property: Id(1)] long Interactions,
    [property: Id(2)] IReadOnlyList<RecentInteraction> Recent,
    [property: Id(3)] IReadOnlyDictionary<string, double> Categories,
    [property: Id(4)] PriceBand? PriceBand,
    [property: Id(5)] IReadOnlyList<string> Excluded);

[GenerateSerializer, Immutable, Alias("platform.PriceBand")]
public sealed record PriceBand([property: Id(0)] decimal Low, [property: Id(1)] decimal High);

/// <summary>
/// One shopper's behaviour, one activation per shopper on a retrieval silo: their interactions go through it into the
/// interaction log (the durable record), and it folds them into a profile (recent history, taste vectors, category and
/// price affinities, exclusions) that is persisted in batches and brought up to date from the log on activation.
/// </summary>
[Alias("platform.IShopperGrain")]
public interface IShopperGrain : IGrainWithStringKey
{
    /// <summary>Logs the interactions (all this shopper's; event ids already logged are skipped) and folds in the new ones.</summary>
    [Alias("Record")]
    Task<RecordOutcome> Record(Interaction[] interactions);

    [Alias("Summary")]
    Task<ShopperSummary> Summary();

    /// <summary>The shopper's taste, or null when they have liked nothing yet.</summary>
    [Alias("Taste")]
    Task<ShopperTaste?> Taste();

    /// <summary>Products for this shopper; never what they bought or disliked.</summary>
    [Alias("Recommend")]
    Task<SearchHit[]> Recommend(int k, ProductFilter? filter);

    /// <summary>Deletes the shopper's interactions and profile; returns how many interactions were deleted.</summary>
    [Alias("Forget")]
    Task<int> Forget();
}

/// <summary>A shopper's (or a session's) taste, for personalising a search: unit taste vectors and category shares.</summary>
[GenerateSerializer, Immutable, Alias("platform.ShopperTaste")]
public sealed record ShopperTaste(
    [property: Id(0)] float[]? Image,
    [property: Id(1)] float[]? Text,
    [property: Id(2)] IReadOnlyDictionary<string, double> Categories);
