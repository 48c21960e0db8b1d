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
}

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

    /// <summary>Products like <paramref name="productId"/> by its image and text neighbours, never the product
    /// itself; only its category's when <paramref name="sameCategory"/>. Null when the product is not in the index.</summary>
    [Alias("Similar")]
    Task<SearchHit[]?> Similar(string productId, int k, bool sameCategory);
}
