namespace Platform.Contracts.Grains;

/// <summary>One search hit as shoppers see it.</summary>
[GenerateSerializer, Immutable, Alias("platform.SearchHit")]
public sealed record SearchHit(
    [property: Id(0)] string Id,
    [property: Id(1)] double Score,
    [property: Id(2)] string Title,
    [property: Id(3)] IReadOnlyDictionary<string, string> Attributes);

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
}
